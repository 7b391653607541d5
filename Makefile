# The two commands of the README: `make demo` and `make test`. Each installs
# what is missing (scripts/setup.sh), builds, and runs.
.PHONY: all setup build test test-release test-asan demo bench format clean

RELEASE := build/release
QUEST := $(RELEASE)/quest

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release

# Every test in Release, then the unit tests and a short real-model forward
# pass (label sanitize) again under ASan + UBSan, building only what those run.
# The test presets set OMP_WAIT_POLICY=passive: two test binaries share the
# cores, and spinning OpenMP barriers would wait on each other's time slices.
test: test-release test-asan

test-release: build
	@ctest --preset release -j2

test-asan: setup
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan --target quest_unit_checks
	@ctest --preset asan -j2 -L 'unit|sanitize'

# The main job on the default model (Gemma 3 270M): a pass key hidden in 8K
# tokens of filler, one dense prefill, then the question decoded and answered
# with dense attention and with Quest (budget 256), with timings; then the
# attention kernel alone, dense vs Quest at 32K on the paper's shape; then the
# server, asked one question over HTTP.
demo: build
	@$(QUEST) eval passkey --lengths 8192 --depths 0.5 --samples 1 \
	  --methods dense,quest --budgets 256 --verbose --no-plots --out build/demo-passkey
	@$(QUEST) bench attention --context 32768 --budget 2048 --working-set-gb 1 --membw-gb 1 \
	  --repeats 5
	@bash scripts/demo_serve.sh $(QUEST)

# The full benchmarks behind the README's table.
bench: build
	@$(QUEST) bench attention --context 32768 --budget 2048 --json
	@$(QUEST) bench attention --context 32768 --budget 2048 --heads 32 --kv-heads 8 \
	  --gqa per-kv-head,per-query-head --json
	@$(RELEASE)/quest_bench_kernels

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	@rm -rf build
