; Julia definitions. `square(x) = x * x` is a function too; Base.show(...) is
; split on "." in code.
(function_definition
  (signature
    (call_expression
      .
      [(identifier) (field_expression)] @name))) @definition.function

(function_definition
  (signature
    (typed_expression
      (call_expression
        .
        [(identifier) (field_expression)] @name)))) @definition.function

(function_definition
  (signature
    (where_expression
      (call_expression
        .
        [(identifier) (field_expression)] @name)))) @definition.function

(assignment
  .
  (call_expression
    .
    [(identifier) (field_expression)] @name)
  (operator)) @definition.function

(macro_definition
  (signature
    (call_expression
      .
      (identifier) @name))) @definition.function

(struct_definition
  (type_head
    [
      (identifier) @name
      (parametrized_type_expression . (identifier) @name)
      (binary_expression . [(identifier) (parametrized_type_expression . (identifier))] @name)
    ])) @definition.struct

(abstract_definition
  (type_head
    [
      (identifier) @name
      (binary_expression . (identifier) @name)
    ])) @definition.interface

(module_definition
  name: (identifier) @name) @definition.module
