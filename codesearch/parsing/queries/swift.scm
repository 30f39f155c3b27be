; Swift definitions. class_declaration covers class, struct, enum, actor and
; extension; declaration_kind tells them apart.
(class_declaration
  declaration_kind: "class"
  name: (_) @name) @definition.class

(class_declaration
  declaration_kind: "actor"
  name: (_) @name) @definition.class

(class_declaration
  declaration_kind: "struct"
  name: (_) @name) @definition.struct

(class_declaration
  declaration_kind: "enum"
  name: (_) @name) @definition.enum

(class_declaration
  declaration_kind: "extension"
  name: (_) @name) @definition.impl

(protocol_declaration
  name: (_) @name) @definition.interface

(function_declaration
  name: (simple_identifier) @name) @definition.function

(protocol_function_declaration
  name: (simple_identifier) @name) @definition.method

(init_declaration
  "init" @name) @definition.method
