# Fails when docs/operators.md is not what `wisp operators --markdown` prints from the kernel
# registry. cmake -DWISP=<wisp> -DDOC=<docs/operators.md> -P check_operators_doc.cmake
execute_process(COMMAND "${WISP}" operators --markdown OUTPUT_VARIABLE generated
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "`${WISP} operators --markdown` failed (${rc})")
endif()
file(READ "${DOC}" committed)
if(NOT generated STREQUAL committed)
  message(FATAL_ERROR "${DOC} is stale: the kernel registry changed. Regenerate it with\n"
                      "  build/native/native/cli/wisp operators --markdown > docs/operators.md")
endif()
message(STATUS "${DOC} matches the kernel registry")
