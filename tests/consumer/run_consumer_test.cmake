# Configures, builds and runs tests/consumer twice: against an installed ivkit (find_package) and
# with add_subdirectory. Run with cmake -P; fails on the first step that fails.
set(consumer_src ${CMAKE_CURRENT_LIST_DIR})
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

# 1. install ivkit to a prefix, then find_package from the consumer.
run_step(${CMAKE_COMMAND_PATH} -S ${IVKIT_SOURCE_DIR} -B ${WORK_DIR}/ivkit-build
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DIVKIT_BUILD_TESTS=OFF -DIVKIT_BUILD_EXAMPLES=OFF -DIVKIT_BUILD_BENCH=OFF
  -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix)
run_step(${CMAKE_COMMAND_PATH} --install ${WORK_DIR}/ivkit-build)
run_step(${CMAKE_COMMAND_PATH} -S ${consumer_src} -B ${WORK_DIR}/package-build
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DIVKIT_CONSUMER_MODE=package)
run_step(${CMAKE_COMMAND_PATH} --build ${WORK_DIR}/package-build)
run_step(${WORK_DIR}/package-build/app)

# 2. add_subdirectory of the source tree.
run_step(${CMAKE_COMMAND_PATH} -S ${consumer_src} -B ${WORK_DIR}/subdir-build
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DIVKIT_CONSUMER_MODE=subdirectory -DIVKIT_SOURCE_DIR=${IVKIT_SOURCE_DIR})
run_step(${CMAKE_COMMAND_PATH} --build ${WORK_DIR}/subdir-build)
run_step(${WORK_DIR}/subdir-build/app)
message(STATUS "consumer project built and ran with find_package and with add_subdirectory")
