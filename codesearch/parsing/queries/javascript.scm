; JavaScript definitions (also loaded for typescript and tsx).
(function_declaration
  name: (_) @name) @definition.function

(generator_function_declaration
  name: (_) @name) @definition.function

(class_declaration
  name: (_) @name) @definition.class

(method_definition
  name: (_) @name) @definition.method

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(variable_declarator
  name: (identifier) @name
  value: (class)) @definition.class

; `ns.fn = function () {}`, `Foo.prototype.bar = () => {}`: named by the member expression.
(assignment_expression
  left: (member_expression) @name
  right: [(function_expression) (arrow_function) (generator_function)]) @definition.function

; `{ send: function (req) {...}, close: () => null }`: methods of an object literal.
(pair
  key: [(property_identifier) (string)] @name
  value: [(function_expression) (arrow_function) (generator_function)]) @definition.method
