# knob_add_module(NAME SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ...)
#   defines the static library knob_<NAME> with the alias knob::<NAME>.
# knob_add_test(NAME sources...)
#   a GoogleTest binary whose cases CTest lists one by one.
find_package(Threads REQUIRED)

function(knob_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(knob_${name} STATIC ${ARG_SOURCES})
  add_library(knob::${name} ALIAS knob_${name})
  set_target_properties(knob_${name} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON)
  target_include_directories(knob_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # A module's private headers are included by their path below src/ ("tuner/samplers/...").
  target_include_directories(knob_${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(knob_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

function(knob_add_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)  # testing/, private headers
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()
