# quest generate --save-kv / --load-kv on the default model (label model): the
# same prompt continued from the file gives the same greedy text with no
# prefill; a longer prompt prefills only its new tokens; a prompt that does
# not extend the stored tokens, a missing file, another page size, an
# unwritable path and a --kv-file path that exists are refused with exit code
# 2 and a message naming them; a pool in a scratch file gives the same text.
set(prompt "The pass key is 71432. Remember it. The grass is green and the sky is blue.")
set(kv ${OUT}/context.kv)
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})

function(run_generate out_var err_var)
  execute_process(COMMAND ${QUEST} generate ${ARGN} --temp 0 -n 8 RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "quest generate ${ARGN}: exit code ${rc}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${err_var} "${err}" PARENT_SCOPE)
endfunction()

run_generate(first err -p "${prompt}" --save-kv ${kv})
if(NOT EXISTS ${kv})
  message(FATAL_ERROR "--save-kv wrote no file ${kv}\n${err}")
endif()
run_generate(again err -p "${prompt}" --load-kv ${kv})
if(NOT again STREQUAL first)
  message(FATAL_ERROR "after --load-kv the text differs:\n'${first}'\n'${again}'")
endif()
if(NOT err MATCHES "prefill: 0 tokens in .* restored from the K/V file")
  message(FATAL_ERROR "the same prompt after --load-kv was prefilled again:\n${err}")
endif()
run_generate(longer err -p "${prompt} What is the pass key?" --load-kv ${kv})
if(NOT err MATCHES "prefill: [1-9][0-9]* tokens in .*\\(([1-9][0-9]*) restored")
  message(FATAL_ERROR "a longer prompt after --load-kv:\n${err}")
endif()
# The K/V pages in a mapped scratch file: the same text, and no file left.
run_generate(pooled err -p "${prompt}" --kv-file ${OUT}/pool)
if(NOT pooled STREQUAL first OR EXISTS ${OUT}/pool)
  message(FATAL_ERROR "--kv-file: text '${pooled}' (want '${first}'), or the pool file remained")
endif()

function(expect_bad expected)
  execute_process(COMMAND ${QUEST} generate ${ARGN} -n 2 RESULT_VARIABLE rc ERROR_VARIABLE err
                  OUTPUT_VARIABLE out TIMEOUT 120)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "${expected}")
    message(FATAL_ERROR "quest generate ${ARGN}: exit code ${rc} (expected 2), message must name "
                        "'${expected}':\n${err}")
  endif()
endfunction()
expect_bad("does not extend the tokens stored in" -p "Another text entirely." --load-kv ${kv})
expect_bad("is shorter than the [0-9]+ tokens stored in" -p "The pass key" --load-kv ${kv})
expect_bad("cannot open K/V file ${OUT}/missing.kv" -p "${prompt}" --load-kv ${OUT}/missing.kv)
expect_bad("page size 16; this run uses 32" -p "${prompt}" --load-kv ${kv} --page-size 32)
expect_bad("--kv-file ${kv} exists" -p "${prompt}" --kv-file ${kv})
expect_bad("cannot create K/V file ${OUT}/no/such/dir" -p "${prompt}" --save-kv ${OUT}/no/such/dir/x.kv)
