; Lua definitions. function A.b() and function A:b() are split in code:
; "." qualifies a function, ":" makes a method.
(function_declaration
  name: (_) @name) @definition.function

(assignment_statement
  (variable_list
    name: (_) @name)
  (expression_list
    value: (function_definition))) @definition.function
