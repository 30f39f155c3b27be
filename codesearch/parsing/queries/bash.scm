; Bash definitions: functions only.
(function_definition
  name: (word) @name) @definition.function
