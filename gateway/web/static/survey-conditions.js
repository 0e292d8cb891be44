// The show_if condition language in the browser: the rules of shared/contracts/conditions.py
// (`evaluate`, `visible_codes`), held to the same test vectors, tests/contracts/condition_vectors.json.
// A classic script, not a module: the survey page allows only scripts carrying its nonce, and
// its enhancement script reads `SurveyConditions` once this one has run.
var SurveyConditions = (function () {
  "use strict";
  var OPERATORS = ["equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "answered"];
  var ORDERED = ["gt", "gte", "lt", "lte"];

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }
  function known(value) {
    return value === undefined ? null : value;
  }
  // "code" or "matrix_code.row_code"; an unanswered question (or row) is null.
  function lookup(ref, answers) {
    var dot = ref.indexOf(".");
    var code = dot < 0 ? ref : ref.slice(0, dot);
    var value = has(answers, code) ? known(answers[code]) : null;
    if (dot < 0) { return value; }
    var row = ref.slice(dot + 1);
    var rows = value !== null && typeof value === "object" && !Array.isArray(value);
    return rows && has(value, row) ? known(value[row]) : null;
  }
  // A multi_choice answer: `equals v` means v was chosen, `in [..]` any of them; order does not apply.
  function onChoices(operator, expected, chosen) {
    var hit = operator === "in" || operator === "not_in"
      ? chosen.some(function (item) { return expected.indexOf(item) >= 0; })
      : chosen.indexOf(expected) >= 0;
    if (operator === "equals" || operator === "in") { return hit; }
    if (operator === "not_equals" || operator === "not_in") { return !hit; }
    return false;
  }
  function compare(operator, expected, value) {
    // Order compares numbers only: a rating typed as text is in no order with a number.
    if (ORDERED.indexOf(operator) >= 0 && typeof value !== "number") { return false; }
    switch (operator) {
      case "equals": return value === expected;
      case "not_equals": return value !== expected;
      case "in": return expected.indexOf(value) >= 0;
      case "not_in": return expected.indexOf(value) < 0;
      case "gt": return value > expected;
      case "gte": return value >= expected;
      case "lt": return value < expected;
      default: return value <= expected;
    }
  }
  function evaluate(condition, answers) {
    if (has(condition, "all")) { return condition.all.every(function (part) { return evaluate(part, answers); }); }
    if (has(condition, "any")) { return condition.any.some(function (part) { return evaluate(part, answers); }); }
    if (has(condition, "not")) { return !evaluate(condition.not, answers); }
    var value = lookup(condition.question, answers);
    var operator = OPERATORS.filter(function (op) { return has(condition, op); })[0];
    var expected = condition[operator];
    if (operator === "answered") { return (value !== null) === Boolean(expected); }
    if (value === null) { return false; }
    return Array.isArray(value) ? onChoices(operator, expected, value) : compare(operator, expected, value);
  }
  // The codes of the questions shown, in order: a show_if sees only the answers of shown questions before it.
  function visibleCodes(questions, answers) {
    var shown = [], seen = {};
    questions.forEach(function (question) {
      var condition = known(question.show_if);
      if (condition !== null && !evaluate(condition, seen)) { return; }
      shown.push(question.code);
      if (has(answers, question.code)) { seen[question.code] = answers[question.code]; }
    });
    return shown;
  }
  return { evaluate: evaluate, visibleCodes: visibleCodes };
})();
