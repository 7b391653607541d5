# `quest eval` on bad input (needs the default model: label `model`): exit code
# 2, a message naming the value, and no summary left behind as if complete.
function(expect_bad_eval expected)
  file(REMOVE_RECURSE ${OUT})
  execute_process(COMMAND ${QUEST} eval ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_VARIABLE out TIMEOUT 120)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "quest eval ${ARGN}: exit code ${rc}, expected 2\n${err}")
  endif()
  if(NOT err MATCHES "${expected}")
    message(FATAL_ERROR "quest eval ${ARGN}: message does not name '${expected}':\n${err}")
  endif()
  if(EXISTS ${OUT}/summary.json OR EXISTS ${OUT}/summary.csv)
    message(FATAL_ERROR "quest eval ${ARGN}: failed but left a summary in ${OUT}")
  endif()
endfunction()

expect_bad_eval("task 'needle'" ruler --tasks needle --lengths 256 --out ${OUT})
expect_bad_eval("--lengths 1000000" passkey --lengths 1000000 --out ${OUT})
expect_bad_eval("--budgets 0" passkey --budgets 0 --lengths 256 --out ${OUT})
expect_bad_eval("--budgets -3" fidelity --budgets 64,-3 --out ${OUT})
expect_bad_eval("--methods: unknown attention method 'snapkv'" passkey --methods dense,snapkv --out ${OUT})
expect_bad_eval("--page-sizes 12" passkey --page-sizes 12 --out ${OUT})
expect_bad_eval("--kv-types int8 \\(expected f16, f32 or q8\\)" passkey --kv-types f16,int8 --out ${OUT})
expect_bad_eval("--sink-pages -1" passkey --sink-pages 0,-1 --out ${OUT})
expect_bad_eval("--depths 1.5" passkey --lengths 256 --depths 1.5 --out ${OUT})
expect_bad_eval("--tokens 1" ppl --tokens 1 --out ${OUT})
expect_bad_eval("/proc/quest_no_such_dir" passkey --lengths 256 --out /proc/quest_no_such_dir/x)
expect_bad_eval("--out" passkey --lengths 256)
expect_bad_eval("--threads 100000: this machine has" passkey --lengths 256 --threads 100000 --out ${OUT})
expect_bad_eval("--dense-layers 1000: the model has" passkey --lengths 256 --dense-layers 1000 --out ${OUT})
expect_bad_eval("--sink-pages 100000" passkey --lengths 256 --sink-pages 100000 --out ${OUT})

# The bad-input contract of generate (the default model).
function(expect_bad_generate expected)
  execute_process(COMMAND ${QUEST} generate ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_VARIABLE out TIMEOUT 120)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "${expected}")
    message(FATAL_ERROR "quest generate ${ARGN}: exit code ${rc} (expected 2), message must name "
                        "'${expected}':\n${err}")
  endif()
endfunction()
expect_bad_generate("--threads 100000: this machine has" -p hi -n 1 --threads 100000)
expect_bad_generate("--threads 2147483647: this machine has" -p hi -n 1 --threads 2147483647)
expect_bad_generate("--dense-layers 1000: the model has 18 layers" -p hi -n 1 --dense-layers 1000)
expect_bad_generate("--sink-pages 100000: 16-token pages leave no room" -p hi -n 1 --sink-pages 100000)
expect_bad_generate("--system needs --chat" -p hi -n 1 --system "be brief")
# An empty argument cannot pass through a function's ARGN: called directly.
execute_process(COMMAND ${QUEST} generate -p "" -n 1 RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "invalid -p '': the prompt is empty")
  message(FATAL_ERROR "quest generate -p '': exit code ${rc}\n${err}")
endif()
expect_bad_generate("give a prompt" -n 1)
expect_bad_generate("do not fit the context" -p hi -n 2147483647)
# bench decode refuses a depth past the model's context before any prefill.
execute_process(COMMAND ${QUEST} bench decode --depth 10000000 --membw-gb 0.01
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out TIMEOUT 120)
if(NOT rc EQUAL 2 OR NOT err MATCHES "--depth 10000000" OR err MATCHES "prefill")
  message(FATAL_ERROR "bench decode --depth 10000000: exit code ${rc}\n${err}")
endif()

# quest generate (same model): an unknown --attention names the value and the
# methods; an eviction baseline is a valid choice.
execute_process(COMMAND ${QUEST} generate -p "The pass key is 7." -n 2 --attention snapkv
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out TIMEOUT 120)
if(NOT rc EQUAL 2 OR NOT err MATCHES "--attention: unknown attention method 'snapkv'")
  message(FATAL_ERROR "generate --attention snapkv: exit code ${rc}\n${err}")
endif()
execute_process(COMMAND ${QUEST} generate -p "The pass key is 7. Remember it." -n 4
                --attention h2o --budget 8 RESULT_VARIABLE rc ERROR_VARIABLE err
                OUTPUT_VARIABLE out TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "generate --attention h2o --budget 8: exit code ${rc}\n${err}")
endif()

# A tiny valid run writes rows (one per sample and method) and a summary whose
# rows name method, budget, length and the metric with its interval.
file(REMOVE_RECURSE ${OUT})
execute_process(COMMAND ${QUEST} eval passkey --lengths 160 --depths 0.5 --samples 1
                --methods dense,quest,tova --budgets 32 --no-plots --json --out ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tiny eval failed (${rc}):\n${err}")
endif()
file(STRINGS ${OUT}/rows.jsonl rows)
list(LENGTH rows n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "expected 3 rows (dense, quest, tova), got ${n}")
endif()
foreach(field method budget length metric value ci_low ci_high n)
  string(JSON value ERROR_VARIABLE jerr GET "${out}" 1 ${field})
  if(jerr)
    message(FATAL_ERROR "eval --json summary lacks '${field}': ${jerr}\n${out}")
  endif()
endforeach()
if(NOT EXISTS ${OUT}/summary.csv)
  message(FATAL_ERROR "no summary.csv in ${OUT}")
endif()

# A finished --out survives a later run's flag error, and is refused unless
# --overwrite, which replaces it whole (rows of the new run only).
set(tiny passkey --lengths 160 --depths 0.5 --samples 1 --methods dense --no-plots --out ${OUT})
execute_process(COMMAND ${QUEST} eval ${tiny} --budgets 0 RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT EXISTS ${OUT}/summary.json OR NOT EXISTS ${OUT}/summary.csv)
  message(FATAL_ERROR "a flag error removed the finished run in ${OUT} (${rc}):\n${err}")
endif()
execute_process(COMMAND ${QUEST} eval ${tiny} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "already holds results")
  message(FATAL_ERROR "eval into a finished --out: exit code ${rc}\n${err}")
endif()
execute_process(COMMAND ${QUEST} eval ${tiny} --overwrite RESULT_VARIABLE rc ERROR_VARIABLE err)
file(STRINGS ${OUT}/rows.jsonl rows)
list(LENGTH rows n)
if(NOT rc EQUAL 0 OR NOT n EQUAL 1)
  message(FATAL_ERROR "eval --overwrite: exit code ${rc}, ${n} rows (want 1)\n${err}")
endif()

# No user string reaches a shell: an --out full of shell syntax, with plots on.
set(hostile "${OUT}_q'$(touch ${OUT}_PWNED)'x")
file(REMOVE_RECURSE "${hostile}" ${OUT}_PWNED)
execute_process(COMMAND ${QUEST} eval passkey --lengths 160 --depths 0.5 --samples 1 --methods dense
                --out "${hostile}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR EXISTS ${OUT}_PWNED OR NOT EXISTS "${hostile}/summary.json")
  message(FATAL_ERROR "eval --out with shell syntax: exit code ${rc}, or the command ran\n${err}")
endif()
file(REMOVE_RECURSE "${hostile}")

# `quest bench decode --json` on the default model: only a JSON array on stdout,
# one object per depth with the documented fields; at a depth past the budget
# Quest reads fewer bytes per token than dense (speedup_bytes > 1), at depth 0
# about as many (each Quest step comes right after a dense one: one token more).
execute_process(COMMAND ${QUEST} bench decode --depth 0,512 --budget 64 --steps 2
                --prefill-tokens 16 --membw-gb 0.05 --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench decode failed (${rc}):\n${err}")
endif()
string(JSON rows ERROR_VARIABLE jerr LENGTH "${out}")
if(jerr OR NOT rows EQUAL 2)
  message(FATAL_ERROR "bench decode --json: expected an array of 2 rows: ${jerr}\n${out}")
endif()
foreach(field depth budget kv_fill dense_tok_s quest_tok_s speedup speedup_bytes prefill_tok_s
        weights_gb kv_gb peak_rss_gb threads)
  string(JSON value ERROR_VARIABLE jerr GET "${out}" 1 ${field})
  if(jerr)
    message(FATAL_ERROR "bench decode --json lacks '${field}': ${jerr}\n${out}")
  endif()
endforeach()
string(JSON bytes GET "${out}" 1 speedup_bytes)
string(JSON depth0_bytes GET "${out}" 0 speedup_bytes)
if(NOT bytes GREATER 1.0 OR depth0_bytes LESS 0.99 OR depth0_bytes GREATER 1.01)
  message(FATAL_ERROR "speedup_bytes: ${depth0_bytes} at depth 0 (want ~1), ${bytes} at 512 (want > 1)")
endif()

# `quest bench prefill`: lengths past the context or <= 0 are refused before any
# prefill; a short run prints one JSON row per length with FLOPs that add up.
execute_process(COMMAND ${QUEST} bench prefill --tokens 16,10000000
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out TIMEOUT 120)
if(NOT rc EQUAL 2 OR NOT err MATCHES "--tokens 10000000: the model's context is")
  message(FATAL_ERROR "bench prefill --tokens 10000000: exit code ${rc}\n${err}")
endif()
execute_process(COMMAND ${QUEST} bench prefill --tokens 0
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out TIMEOUT 120)
if(NOT rc EQUAL 2 OR NOT err MATCHES "--tokens 0: must be > 0")
  message(FATAL_ERROR "bench prefill --tokens 0: exit code ${rc}\n${err}")
endif()
execute_process(COMMAND ${QUEST} bench prefill --tokens 8,600 --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench prefill failed (${rc}):\n${err}")
endif()
string(JSON rows ERROR_VARIABLE jerr LENGTH "${out}")
if(jerr OR NOT rows EQUAL 2)
  message(FATAL_ERROR "bench prefill --json: expected an array of 2 rows: ${jerr}\n${out}")
endif()
foreach(field tokens seconds tok_s gflops weight_gflop attention_gflop peak_gflops peak_int8_gops
              threads)
  string(JSON value ERROR_VARIABLE jerr GET "${out}" 1 ${field})
  if(jerr)
    message(FATAL_ERROR "bench prefill --json lacks '${field}': ${jerr}\n${out}")
  endif()
endforeach()
# Gemma 3 270M, 8 tokens, all keys visible in every layer: 18 layers x 4 heads x
# 256 x 4 FLOPs x 36 pairs = 2,654,208 attention FLOPs.
string(JSON attn GET "${out}" 0 attention_gflop)
if(attn LESS 0.0026541 OR attn GREATER 0.0026543)
  message(FATAL_ERROR "bench prefill: attention_gflop ${attn} at 8 tokens, expected 0.00265421")
endif()
