; OCaml definitions. A let binding with parameters (or bound to `function` or
; `fun`) is a function; modules hold functions, classes hold methods.
(value_definition
  (let_binding
    pattern: (value_name) @name
    (parameter))) @definition.function

(value_definition
  (let_binding
    pattern: (value_name) @name
    body: [(function_expression) (fun_expression)])) @definition.function

(module_definition
  (module_binding
    (module_name) @name)) @definition.module

(module_type_definition
  (module_type_name) @name) @definition.interface

(class_definition
  (class_binding
    (class_name) @name)) @definition.class

(method_definition
  (method_name) @name) @definition.method

(type_definition
  (type_binding
    name: (type_constructor) @name
    body: (variant_declaration))) @definition.enum

(type_definition
  (type_binding
    name: (type_constructor) @name
    body: (record_declaration))) @definition.struct
