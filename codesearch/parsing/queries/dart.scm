; Dart definitions. A function's body is a sibling of its signature: the span
; grows over it in code.
(class_definition
  name: (identifier) @name) @definition.class

(mixin_declaration
  (identifier) @name) @definition.class

(extension_declaration
  name: (identifier) @name) @definition.class

(enum_declaration
  name: (identifier) @name) @definition.enum

(program
  (function_signature
    name: (identifier) @name) @definition.function)

(method_signature
  (function_signature
    name: (identifier) @name)) @definition.function

(method_signature
  (getter_signature
    name: (identifier) @name)) @definition.function

(method_signature
  (setter_signature
    name: (identifier) @name)) @definition.function

(method_signature
  (constructor_signature
    name: (identifier) @name)) @definition.function

(method_signature
  (factory_constructor_signature
    (identifier) @name)) @definition.function

(declaration
  (function_signature
    name: (identifier) @name)) @definition.function

(declaration
  (constructor_signature
    name: (identifier) @name)) @definition.function
