; Objective-C definitions; c.scm is loaded with this file. A method is named by
; its selector's first part.
(class_interface
  .
  (identifier) @name) @definition.interface

(class_implementation
  .
  (identifier) @name) @definition.class

(protocol_declaration
  .
  (identifier) @name) @definition.interface

(method_definition
  (identifier) @name) @definition.method

(method_declaration
  (identifier) @name) @definition.method
