; Kotlin definitions. Interfaces and enums are class_declaration nodes told
; apart by a keyword; the more specific kind wins in code.
(class_declaration
  name: (_) @name) @definition.class

(class_declaration
  "interface"
  name: (_) @name) @definition.interface

(class_declaration
  (modifiers
    (class_modifier) @_modifier)
  name: (_) @name
  (#eq? @_modifier "enum")) @definition.enum

(object_declaration
  name: (_) @name) @definition.class

(function_declaration
  name: (_) @name) @definition.function
