# techtrade_embed_migrations(<target> COMPONENT <name> FUNCTION <qualified C++ function>
#                            DIR <directory of NNNN_<what>.sql files>)
# Compiles the directory's migrations into <target>: a generated source defines
# `std::span<const techtrade::Migration> <function>()` with each file's version (its number) and
# name (its `-- migration: <name>` line), and the SQL after that line, byte for byte. The source
# is generated again when a file changes; adding or removing one reconfigures (the glob).
function(techtrade_embed_migrations target)
  set(script ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/generate.cmake)
  cmake_parse_arguments(ARG "" "COMPONENT;FUNCTION;DIR" "" ${ARGN})
  file(GLOB sql_files CONFIGURE_DEPENDS ${ARG_DIR}/*.sql)
  list(SORT sql_files)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${ARG_COMPONENT}_migrations.cc)
  # '|' rather than ';' between the files, so that the list stays one argument.
  string(REPLACE ";" "|" file_list "${sql_files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DFUNCTION=${ARG_FUNCTION} "-DFILES=${file_list}"
            -P ${script}
    DEPENDS ${sql_files} ${script}
    COMMENT "Embedding ${ARG_COMPONENT} migrations"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
