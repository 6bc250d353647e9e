# embed-text.cmake - a text file as a C string, for a program that prints it
# (harness/repro-prelude.sh into repro.c). Run at build time:
#   cmake -DIN=file -DOUT=header.h -DNAME=c_name -P embed-text.cmake
# writes `static const char NAME[] = {bytes..., 0};` into OUT (through a
# temporary file, so a failed run never leaves half a header); the build
# remakes OUT when IN or this script changes.
if(NOT IN OR NOT OUT OR NOT NAME)
  message(FATAL_ERROR "embed-text.cmake: IN, OUT and NAME are required")
endif()
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# sixteen bytes a line (CMake regular expressions have no {n})
set(line "")
foreach(i RANGE 15)
  string(APPEND line "0x[0-9a-f][0-9a-f],")
endforeach()
string(REGEX REPLACE "(${line})" "\\1\n  " bytes "${bytes}")
get_filename_component(source ${IN} NAME)
file(WRITE ${OUT}.tmp
  "/* ${NAME}: ${source}, embedded by harness/embed-text.cmake at build time. Do not edit. */\n"
  "static const char ${NAME}[] = {\n  ${bytes}0};\n")
file(RENAME ${OUT}.tmp ${OUT})
