# Runs the quest CLI on bad flags: each must exit with code 2 and print a
# message naming the flag and the value (ctest -P script; QUEST is the binary).
function(expect_bad_input expected)
  execute_process(COMMAND ${QUEST} ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_VARIABLE out TIMEOUT 60)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "quest ${ARGN}: exit code ${rc}, expected 2\n${err}")
  endif()
  if(NOT err MATCHES "${expected}")
    message(FATAL_ERROR "quest ${ARGN}: message does not name '${expected}':\n${err}")
  endif()
endfunction()

set(small --context 64 --membw-gb 0.01 --working-set-gb 0.01 --repeats 1)
expect_bad_input("--page-size 12" bench attention ${small} --page-size 12)
expect_bad_input("--page-size 256" bench attention ${small} --page-size 256)
expect_bad_input("--budget 0" bench attention ${small} --budget 0)
expect_bad_input("--budget -5" bench attention ${small} --budget 64,-5)
expect_bad_input("--kv-heads 5" bench attention ${small} --heads 32 --kv-heads 5)
expect_bad_input("--head-dim 100" bench attention ${small} --head-dim 100)
expect_bad_input("--head-dim 0" bench attention ${small} --head-dim 0)
expect_bad_input("--context 0" bench attention --context 0)
expect_bad_input("--gqa per-token" bench attention ${small} --gqa per-token)
expect_bad_input("--kv-type q4: expected f16, f32 or q8" bench attention ${small} --kv-type q4)
expect_bad_input("--keys gaussian" bench select --tokens 64 --keys gaussian)
expect_bad_input("--block-pages 0" bench select --tokens 64 --block-pages 0)
expect_bad_input("--tokens 0" bench select --tokens 0)
expect_bad_input("--semantics fast" bench attention ${small} --semantics fast)
expect_bad_input("--budget" bench attention ${small} --budget abc)
expect_bad_input("--nope" bench attention --nope)
expect_bad_input("subcommand" frobnicate)
# Sizes: threads bounded by the processors, memory by the machine's, pages in 64 bits.
expect_bad_input("--threads 100000: this machine has" bench attention ${small} --threads 100000)
expect_bad_input("--threads 2147483647: this machine has" bench attention ${small} --threads 2147483647)
expect_bad_input("--threads -1" bench attention ${small} --threads -1)
expect_bad_input("--working-set-gb 1000: needs" bench attention --context 64 --membw-gb 0.01 --working-set-gb 1000)
expect_bad_input("--membw-gb 1000: needs" bench attention --context 64 --membw-gb 1000)
expect_bad_input("--context 2147483647: needs" bench attention ${small} --context 2147483647)
expect_bad_input("--context 2147483647 with --layers 2: needs" bench attention ${small} --layers 2 --context 2147483647)

# And a tiny valid run prints a JSON array with the documented fields.
execute_process(COMMAND ${QUEST} bench attention ${small} --layers 2 --budget 32 --heads 4 --kv-heads 2
                --head-dim 64 --json RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tiny bench failed (${rc}):\n${err}")
endif()
foreach(field context budget page_size heads kv_heads head_dim layers gqa_mode threads dense_ms
        quest_ms speedup speedup_bound speedup_limit dense_gbps quest_gbps membw_gbps scatter_gbps)
  string(JSON value ERROR_VARIABLE jerr GET "${out}" 0 ${field})
  if(jerr)
    message(FATAL_ERROR "bench --json lacks '${field}': ${jerr}\n${out}")
  endif()
endforeach()

# The OpenMP wait policy: without a user setting, quest runs with passive
# (sleeping) barriers. OMP_DISPLAY_ENV=verbose makes libgomp print its settings;
# the spin count before sleeping must be 0 in the runtime itself (libgomp
# reads the environment before main: a setenv there alone leaves it at 300000).
execute_process(COMMAND env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose
                ${QUEST} --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc EQUAL 0 OR NOT "${out}${err}" MATCHES "GOMP_SPINCOUNT = '0'")
  message(FATAL_ERROR "quest --help: OpenMP barriers still spin (exit ${rc}):\n${out}${err}")
endif()
