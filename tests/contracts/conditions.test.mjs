// The survey page's script (gateway/web/static/survey-conditions.js) passes the vectors the Python
// home of the condition language passes (test_condition_vectors.py). Run by `make test`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const vectors = JSON.parse(readFileSync(new URL("condition_vectors.json", import.meta.url), "utf8"));
const script = fileURLToPath(new URL("../../gateway/web/static/survey-conditions.js", import.meta.url));
// Run as the browser does, a classic script: its top-level `var` becomes a global.
vm.runInThisContext(readFileSync(script, "utf8"), { filename: script });
const { evaluate, visibleCodes } = globalThis.SurveyConditions;

for (const vector of vectors.evaluate) {
  test(`evaluate: ${vector.name}`, () => {
    assert.equal(evaluate(vector.condition, vector.answers), vector.expected);
  });
}

for (const vector of vectors.visible) {
  test(`visible: ${vector.name}`, () => {
    assert.deepEqual(visibleCodes(vector.questions, vector.answers), vector.expected);
  });
}
