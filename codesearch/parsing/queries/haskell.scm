; Haskell definitions. A function's type signature, when right above it, joins
; its span (in code). Type classes are interfaces; instances hold methods.
(function
  name: (variable) @name) @definition.function

(data_type
  name: (name) @name) @definition.class

(newtype
  name: (name) @name) @definition.class

(class
  name: (name) @name) @definition.interface

(class_declarations
  (signature
    name: (variable) @name) @definition.function)

(instance
  name: (name) @name) @definition.impl
