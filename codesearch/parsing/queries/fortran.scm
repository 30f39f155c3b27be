; Fortran definitions: programs and modules, functions and subroutines,
; derived types.
(program
  (program_statement
    (name) @name)) @definition.module

(module
  (module_statement
    (name) @name)) @definition.module

(function
  (function_statement
    name: (name) @name)) @definition.function

(subroutine
  (subroutine_statement
    name: (name) @name)) @definition.function

(derived_type_definition
  (derived_type_statement
    (type_name) @name)) @definition.struct
