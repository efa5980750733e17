# Shared build helpers.

# ISA-specific translation units are recognised by their suffix (conv_f32_avx512.cpp, ...) and get
# that ISA's flags; everything else is built for baseline x86-64. Run-time dispatch picks among them.
# The list of such sources is kept in the global property SP_ISA_SOURCES (the fuzz build leaves them
# uninstrumented for coverage: the fuzzer runs the scalar ISA only).
#
# Under ASan+UBSan they are built without UBSan's pointer-overflow check: on the vector kernels' address
# arithmetic clang's instrumentation for it multiplies their compile time by ~4 (spconv_f32_avx512.cpp:
# 199 s with it, 49 s without, clang 14 -O1), most of the sanitizer stage of CI, while ASan still checks
# every load and store they make and the baseline code (the scalar references included) keeps the check.
function(sp_apply_isa_flags)
  set(san_opts "")
  if(SP_SANITIZE STREQUAL "address")
    set(san_opts -fno-sanitize=pointer-overflow)
  endif()
  foreach(src IN LISTS ARGN)
    set(isa_opts "")
    if(src MATCHES "_amx\\.cpp$")
      set(isa_opts ${SP_FLAGS_AMX})
    elseif(src MATCHES "_avx512bf16\\.cpp$")
      set(isa_opts ${SP_FLAGS_AVX512BF16})
    elseif(src MATCHES "_avx512vnni\\.cpp$")
      set(isa_opts ${SP_FLAGS_AVX512VNNI})
    elseif(src MATCHES "_avxvnni\\.cpp$")
      set(isa_opts ${SP_FLAGS_AVXVNNI})
    elseif(src MATCHES "_avx512\\.cpp$")
      set(isa_opts ${SP_FLAGS_AVX512})
    elseif(src MATCHES "_avx2\\.cpp$")
      set(isa_opts ${SP_FLAGS_AVX2})
    endif()
    if(isa_opts)
      list(APPEND isa_opts ${san_opts})
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${isa_opts}")
      set_property(GLOBAL APPEND PROPERTY SP_ISA_SOURCES ${src})
    endif()
  endforeach()
endfunction()

function(sp_target_warnings target)
  target_compile_options(${target} PRIVATE ${SP_WARNINGS})
endfunction()
