; C++-only definitions; c.scm is loaded with this file. Out-of-line
; definitions (void Foo::bar()) are split on "::" in code.
(function_definition
  declarator: (reference_declarator
    (function_declarator
      declarator: (_) @name))) @definition.function

(class_specifier
  name: (_) @name
  body: (_)) @definition.class

(namespace_definition
  name: (_) @name
  body: (_)) @definition.module
