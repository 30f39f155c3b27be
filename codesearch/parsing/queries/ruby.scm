; Ruby definitions. class Foo::Bar is split on "::" in code.
(method
  name: (_) @name) @definition.function

(singleton_method
  name: (_) @name) @definition.method

(class
  name: (_) @name) @definition.class

(module
  name: (_) @name) @definition.module
