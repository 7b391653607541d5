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

# Every test in Release, then the unit tests again under ASan + UBSan.
test: test-release test-asan

test-release: build
	@ctest --preset release -j2

test-asan: setup
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan
	@ctest --preset asan -j2 -L unit

# Dense vs Quest decode attention at 8K and 32K context on the paper's shape
# (Llama-2-7B: 32 x 128), then the default model (Gemma 3 270M) generating.
# The long-context passkey demo waits for faster prefill (issue 4).
demo: build
	@$(QUEST) bench attention --context 8192,32768 --budget 1024,2048 \
	  --working-set-gb 1 --membw-gb 1 --repeats 5
	@$(QUEST) generate -p "The three most important inventions of the twentieth century are" \
	  -n 48 --attention quest --budget 2048

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
