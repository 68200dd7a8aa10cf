# Two entry points for a fresh machine (see README):  make main   and   make test
# Both set up .venv first. DATA points at the instruction data (MANIFEST layout).
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
# the main job runs on the repository's own data/ (an embedded sample, see data/README.md) unless MAIN_DATA says otherwise
MAIN_DATA ?= data
BANK ?= banks/main
export INSBANK_DATA := $(abspath $(DATA))

.PHONY: setup main test test-fast test-slow check-sync experiments experiments-full bench bench-ann bench-ray bench-evolution bench-sparse bench-cost clean-banks

$(BIN)/insbank: settings.ini setup.py .ci/constraints.txt
	bash .ci/setup $(VENV)
	@touch $(BIN)/insbank

setup: $(BIN)/insbank

main: setup
	$(BIN)/insbank timeline --data-dir "$(MAIN_DATA)" --bank $(BANK)

check-sync: setup
	bash .ci/check-sync $(VENV)

test-fast: setup
	$(BIN)/nbdev_test --n_workers 2
	$(BIN)/pytest -q tests

test: check-sync test-fast experiments-smoke

# the notebook cells flagged `#| slow` (settings.ini: tst_flags = slow), which test-fast skips: kernels started by
# papermill, whole-pipeline runs. Not part of `make test`; run it before a release or after touching those notebooks.
test-slow: setup
	$(BIN)/nbdev_test --n_workers 2 --flags slow

experiments-smoke: setup
	$(BIN)/insbank reproduce --out build/reports-smoke --check

experiments: setup
	$(BIN)/insbank reproduce --out reports

experiments-full: setup
	$(BIN)/insbank reproduce --out reports --full

bench: setup
	$(BIN)/python benchmarks/bench_ap.py

# kNN graph: exact against FAISS (HNSW, IVF) and nearest-neighbour descent side by side, at 50,000 and 1,000,000 points (reports/knn_ann/)
bench-ann: setup
	$(BIN)/python benchmarks/knn_ann.py --data-dir data --out reports/knn_ann/n50k
	$(BIN)/python benchmarks/knn_ann.py --data-dir data --methods hnsw hnsw:M=8 hnsw:M=8,ef_search=48 hnsw:M=12,ef_search=48 hnsw:M=16,ef_construction=24,ef_search=40 --out reports/knn_ann/n50k-settings
	$(BIN)/python benchmarks/knn_ann.py --data-dir data --n 1000000 --no-exact --methods hnsw hnsw:ef_search=40 hnsw:pca=96,refine=4 --out reports/knn_ann/n1m
	$(BIN)/python benchmarks/knn_ann.py --data-dir data --repeat 3 --methods hnsw hnsw:M=12,ef_search=48 nndescent nndescent:n_iters=6 --out reports/knn_ann/n50k-nndescent
	$(BIN)/python benchmarks/knn_ann.py --data-dir data --n 1000000 --no-exact --methods nndescent --out reports/knn_ann/n1m-nndescent

# the default's cost against the bank size: banks of 1,000 and 3,000 over the 8 x 1,000 timeline, side by side (reports/bank_cost/)
bench-cost: setup
	$(BIN)/python benchmarks/bank_cost.py --data-dir "$(INSBANK_DATA)" --out reports/bank_cost

# insbank embed on 1 and 2 local Ray workers against in process (reports/ray_embed/)
bench-ray: setup
	$(BIN)/python benchmarks/ray_embed.py --out reports/ray_embed

# one sparse PIBE round (with history) over 300,000 candidates: the shared records plus jittered copies
bench-sparse: setup
	$(BIN)/python benchmarks/sparse_scale.py --data-dir "$(INSBANK_DATA)" --out reports/sparse_scale

# full gradual evolution over all the data (bank 6000): sparse (k=50, one round per dataset; the paper's and the default preset), then the authors'
# 27,000-item chunks dense and sparse (k=50, 100), compared round by round, with AP's stopping rule and at exactly
# 200 iterations a round (about 45 minutes in all, 20 GB peak); reports/full_evolution/*/README.md
bench-evolution: setup
	$(BIN)/python benchmarks/full_evolution.py --data-dir "$(INSBANK_DATA)" --knn 50 --out reports/full_evolution/sparse-k50
	$(BIN)/python benchmarks/full_evolution.py --data-dir "$(INSBANK_DATA)" --knn 50 --preset insbank --out reports/full_evolution/insbank-k50
	$(BIN)/python benchmarks/full_evolution.py --data-dir "$(INSBANK_DATA)" --knn 0 --chunk-size 27000 --out reports/full_evolution/dense-27k
	$(BIN)/python benchmarks/full_evolution.py --data-dir "$(INSBANK_DATA)" --knn 50 --chunk-size 27000 --out reports/full_evolution/sparse-27k \
		--compare reports/full_evolution/dense-27k
	$(BIN)/python benchmarks/full_evolution.py --data-dir "$(INSBANK_DATA)" --knn 100 --chunk-size 27000 --out reports/full_evolution/sparse-27k-k100 \
		--compare reports/full_evolution/dense-27k
	$(BIN)/python benchmarks/full_evolution.py --data-dir "$(INSBANK_DATA)" --knn 0 --chunk-size 27000 --convergence-iter 0 \
		--out reports/full_evolution/dense-27k-200it
	$(BIN)/python benchmarks/full_evolution.py --data-dir "$(INSBANK_DATA)" --knn 50 --chunk-size 27000 --convergence-iter 0 \
		--out reports/full_evolution/sparse-27k-200it --compare reports/full_evolution/dense-27k-200it
