; Python definitions. A function nested in a class becomes a method in code;
; decorators are added to the span by lifting into decorated_definition.
(function_definition
  name: (identifier) @name) @definition.function

(class_definition
  name: (identifier) @name) @definition.class
