# Shared build helpers.

# ISA-specific translation units are recognised by their suffix (conv_f32_avx512.cpp, ...) and get
# that ISA's flags; everything else is built for baseline x86-64. Run-time dispatch picks among them.
function(sp_apply_isa_flags)
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_amx\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SP_FLAGS_AMX}")
    elseif(src MATCHES "_avx512bf16\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SP_FLAGS_AVX512BF16}")
    elseif(src MATCHES "_avx512vnni\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SP_FLAGS_AVX512VNNI}")
    elseif(src MATCHES "_avxvnni\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SP_FLAGS_AVXVNNI}")
    elseif(src MATCHES "_avx512\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SP_FLAGS_AVX512}")
    elseif(src MATCHES "_avx2\\.cpp$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${SP_FLAGS_AVX2}")
    endif()
  endforeach()
endfunction()

function(sp_target_warnings target)
  target_compile_options(${target} PRIVATE ${SP_WARNINGS})
endfunction()
