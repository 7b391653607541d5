// The Jinja renderer construct by construct, and its errors. Expected strings
// are what jinja2 3.1 renders with trim_blocks and lstrip_blocks (checked with
// Python); the real chat templates are compared with jinja2 in
// chat_template_golden_test.cc.
#include "src/tokenizer/jinja/template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>

namespace quest::jinja {
namespace {

ValueDict Context() {
  ValueDict user;
  user.Set("role", "user");
  user.Set("content", "Hi");
  ValueDict assistant;
  assistant.Set("role", "assistant");
  assistant.Set("content", " Yo\n");
  ValueDict c;
  c.Set("messages", Value(ValueList{Value(user), Value(assistant)}));
  c.Set("name", "Ann");
  c.Set("n", 3);
  c.Set("empty", Value(ValueList{}));
  return c;
}

std::string Render(std::string_view source) {
  Result<Template> t = Template::Parse(source);
  if (!t.ok()) return "PARSE ERROR: " + t.status().message();
  Result<std::string> s = t->Render(Context());
  if (!s.ok()) return "RENDER ERROR: " + s.status().message();
  return *s;
}

struct Case {
  const char* source;
  const char* expected;
};

void ExpectAll(const std::vector<Case>& cases) {
  for (const Case& c : cases) EXPECT_EQ(Render(c.source), c.expected) << c.source;
}

TEST(Jinja, TextAndWhitespaceControl) {
  ExpectAll({
      {"plain text", "plain text"},
      {"a\n", "a"},  // one trailing newline is dropped, as jinja2 does
      {"a\n\n", "a\n"},
      {"a\r\nb", "a\nb"},
      {"  {% if true %}\n  x\n  {% endif %}\n  {{ 1 }}\n", "  x\n  1"},
      {"a\n  {#c#}\n  b {% if 1 %}  \n c{% endif %}", "a\n  b   \n c"},
      {"a  {{- 1 -}}  b", "a1b"},
      {"a \n {%- if true -%} \n b {%- endif %}", "ab"},
      {"x {% if true %}y{% endif %}", "x y"},  // not alone on its line: kept
      {"  {%+ if true %}x{% endif %}", "  x"},
      {"{% if true +%}\nx{% endif %}", "\nx"},
      {"{# comment #}z", "z"},
  });
}

TEST(Jinja, Literals) {
  ExpectAll({
      {"{{ 'a\\n\\t\\'' }}", "a\n\t'"},
      {"{{ \"\\u00e9\\x41\" }}", "\xC3\xA9" "A"},
      {"{{ 'a' 'b' }}", "ab"},
      {"{{ 42 }} {{ -7 }} {{ 1_000 }}", "42 -7 1000"},
      {"{{ 1.0 }} {{ 1e20 }} {{ 0.1 + 0.2 }} {{ 2.5e-5 }}", "1.0 1e+20 0.30000000000000004 2.5e-05"},
      {"{{ true }} {{ False }} {{ none }}", "True False None"},
      {"{{ [1, 'a', none, true] }} {{ (1,) }} {{ {'k': [1]} }}", "[1, 'a', None, True] (1,) {'k': [1]}"},
  });
}

TEST(Jinja, Operators) {
  ExpectAll({
      {"{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 10 }}", "7 9 1024"},
      {"{{ 10 / 4 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7.5 % 2 }}", "2.5 3 -4 2 1.5"},
      {"{{ 'a' + 'b' }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 1 ~ 'x' ~ none }}", "ab ababab [1, 2] 1xNone"},
      {"{{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 < 3 }} {{ 'b' >= 'a' }} {{ [1, 2] < [1, 3] }}",
       "True True True True True"},
      {"{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'role' in messages[0] }} {{ 3 not in [1] }}",
       "True True True True"},
      {"{{ 'a' in nothing }} {{ 'a' not in nothing }}", "False True"},
      {"{{ {0: 'a', 512: 'b'}[512] }} {{ {1: 2, 'k': none} | tojson }} {{ {2: 0, 1: 1} | dictsort }} {{ 1 in {1: 0} }}",
       "b {\"1\": 2, \"k\": null} [(1, 1), (2, 0)] True"},
      {"{{ not 0 }} {{ 1 and 'x' }} {{ 0 or 'y' }} {{ '' or [] }}", "True x y []"},
      {"{{ 'y' if n > 2 else 'n' }} [{{ 'y' if n > 5 }}]", "y []"},
      {"{{ 'a' + name | upper + 'b' }}", "aANNb"},  // filters bind tighter than +
      {"{{ messages | length - 1 }}", "1"},
  });
}

TEST(Jinja, AccessAndSlicing) {
  ExpectAll({
      {"{{ messages[0].role }} {{ messages[1]['role'] }} {{ messages[-1].content | trim }}",
       "user assistant Yo"},
      {"{{ 'abc'[::-1] }} {{ 'hello'[1:-1] }} {{ 'hello'[::2] }} {{ '日本語'[1] }}", "cba ell hlo 本"},
      {"{{ [1, 2, 3][1:] }} {{ [1, 2, 3][:-1] }} {{ [1, 2, 3][::-1] }}", "[2, 3] [1, 2] [3, 2, 1]"},
      {"[{{ missing }}{{ messages[5] }}{{ messages[0].nope }}]", "[]"},
      {"{{ messages[0].missing is defined }} {{ nothing is undefined }}", "False True"},
  });
}

TEST(Jinja, StringMethods) {
  ExpectAll({
      {"[{{ '  a b \\n'.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n\\na'.lstrip('\\n') }}|{{ 'a  '.rstrip() }}]",
       "[a b|a|a|a]"},
      {"{{ 'a b  c'.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a<t>b<t>c'.split('<t>')[-1] }}",
       "['a', 'b', 'c'] ['a', 'b', '', 'c'] c"},
      {"{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.endswith('x') }}",
       "True True False"},
      {"{{ 'Hi There'.upper() }} {{ 'Hi There'.lower() }} {{ 'hello wORLD'.title() }} {{ 'hI'.capitalize() }}",
       "HI THERE hi there Hello World Hi"},
      {"{{ 'aaa'.replace('a', 'b') }} {{ 'aaa'.replace('a', 'b', 2) }}", "bbb bba"},
  });
}

TEST(Jinja, Filters) {
  ExpectAll({
      {"[{{ '  x \\n' | trim }}] {{ 'abc' | length }} {{ '日本' | length }} {{ messages | count }}",
       "[x] 3 2 2"},
      {"{{ x | default('d') }} {{ '' | default('e', true) }} {{ name | d('z') }}", "d e Ann"},
      {"{{ ['a', 'b'] | join(', ') }} {{ messages | map(attribute='role') | join('/') }}",
       "a, b user/assistant"},
      {"{{ 'ab' | upper }} {{ 'AB' | lower }} {{ 'ab cd' | title }} {{ 'aB' | capitalize }}",
       "AB ab Ab Cd Ab"},
      {"{{ 'abc' | list }} {{ {'b': 1, 'a': 2} | items | list }} {{ [3, 1] | first }} {{ [3, 1] | last }}",
       "['a', 'b', 'c'] [('b', 1), ('a', 2)] 3 1"},
      {"{{ 3.7 | int }} {{ '12' | int }} {{ 'x' | int }} {{ 2 | float }} {{ 5 | string }} {{ -3 | abs }}",
       "3 12 0 2.0 5 3"},
      {"{{ messages | selectattr('role', 'equalto', 'user') | list | length }} "
       "{{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') | first }}",
       "1 assistant"},
      {"{{ ['a', 'code', 'b'] | reject('equalto', 'code') | join(',') }} {{ [0, 1, 2] | select | list }}",
       "a,b [1, 2]"},
      {"{{ 'a-b' | replace('-', '+') }} {{ ['b', 'A', 'c'] | sort }} {{ [1, 1, 2] | unique | list }}",
       "a+b ['A', 'b', 'c'] [1, 2]"},
      {"{{ 'x' | safe }} {{ [1, 2] | reverse | list }}", "x [2, 1]"},
      {"{{ 'a\\nb\\n\\nc\\n' | indent(2) }}|{{ 'a\\nb' | indent(first=true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}",
       "a\n  b\n\n  c\n|    a\n    b|a\n> \n> b"},
      {"{{ {'b': 1, 'A': 2, 'c': 0} | dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value', reverse=true) }}",
       "[('A', 2), ('b', 1), ('c', 0)] [('a', 2), ('b', 1)]"},
  });
}

TEST(Jinja, ToJson) {
  ExpectAll({
      {"{{ {'a': 1, 'b': [true, none, 1.5], 'c': 'q\"\\n日'} | tojson }}",
       "{\"a\": 1, \"b\": [true, null, 1.5], \"c\": \"q\\\"\\n日\"}"},
      {"{{ {'a': [1, {}], 'b': []} | tojson(indent=2) }}",
       "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}"},
      {"{{ messages[0] | tojson }}", "{\"role\": \"user\", \"content\": \"Hi\"}"},
  });
}

TEST(Jinja, Tests) {
  ExpectAll({
      {"{{ name is string }} {{ n is number }} {{ n is integer }} {{ 1.5 is float }} {{ none is none }}",
       "True True True True True"},
      {"{{ messages is iterable }} {{ messages[0] is mapping }} {{ name is not mapping }} {{ true is boolean }}",
       "True True True True"},
      {"{{ n is odd }} {{ n is even }} {{ 9 is divisibleby 3 }} {{ n is eq(3) }} {{ x is defined }}",
       "True False True True False"},
      {"{{ false is false }} {{ 0 is false }} {{ raise_exception is callable }}", "True False True"},
  });
}

TEST(Jinja, IfAndFor) {
  ExpectAll({
      {"{% if n == 1 %}a{% elif n == 3 %}b{% else %}c{% endif %}", "b"},
      {"{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
       "{{ loop.length }}{{ loop.revindex }};{% endfor %}",
       "10TrueFalse22;21FalseTrue21;"},
      {"{% for m in messages if m.role == 'assistant' %}{{ loop.index }}/{{ loop.length }}{% endfor %}",
       "1/1"},
      {"{% for x in empty %}x{% else %}none{% endfor %}", "none"},
      {"{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;"},
      {"{% for k in {'a': 1, 'b': 2} %}{{ k }}{% endfor %}{% for c in 'hi' %}[{{ c }}]{% endfor %}",
       "ab[h][i]"},
      {"{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}"
       "{% endif %}{{ i }}{% endfor %}",
       "02"},
      {"{% for m in messages[::-1] %}{{ m.role[0] }}{{ loop.cycle('x', 'y') }}{% endfor %}", "axuy"},
      {"{% for i in range(1, 7, 2) %}{{ i }}{% endfor %} {{ range(3) | list }}", "135 [0, 1, 2]"},
  });
}

TEST(Jinja, SetScopesAndNamespace) {
  ExpectAll({
      // A set inside a loop lives for one iteration; namespace() carries values out.
      {"{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}",
       "12121"},
      {"{% set ns = namespace(count=0, found=false) %}{% for m in messages %}"
       "{% set ns.count = ns.count + 1 %}{% endfor %}{{ ns.count }}",
       "2"},
      {"{% set ns = namespace() %}{% set ns.a = 'v' %}{{ ns.a }}", "v"},
      {"{% if true %}{% set y = 5 %}{% endif %}{{ y }}", "5"},
      {"{% set block %}a{{ n }}b{% endset %}[{{ block }}]", "[a3b]"},
      {"{% set messages = messages[1:] %}{{ messages | length }}", "1"},
  });
}

TEST(Jinja, MacrosAndGlobals) {
  ExpectAll({
      {"{% macro greet(who, punct='!') %}Hi {{ who }}{{ punct }}{% endmacro %}"
       "{{ greet(name) }} {{ greet('Bo', punct='?') }}",
       "Hi Ann! Hi Bo?"},
      {"{{ dict(a=1).a }}", "1"},
      // transformers' {% generation %} (its AssistantTracker extension) renders its body.
      {"{% generation %}kept{% endgeneration %}", "kept"},
  });
}

TEST(Jinja, StrftimeNowUsesTheGivenTime) {
  Result<Template> t = Template::Parse("{{ strftime_now('%d %b %Y') }}");
  ASSERT_TRUE(t.ok());
  RenderOptions o;
  o.now = 1721952000 + 12 * 3600;  // 2024-07-26 12:00 UTC: the same date in any time zone +-11h
  Result<std::string> s = t->Render({}, o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s, "26 Jul 2024");
}

// Every error names the line and column and what is wrong.
TEST(Jinja, ErrorsNameTheProblemAndPlace) {
  const std::vector<Case> cases = {
      {"{{ 1 + }}", "PARSE ERROR: line 1, column 8: expected an expression, found '}}'"},
      {"a\n{% if true %}x", "PARSE ERROR: line 2, column 15: unexpected end of template: '{% if %}' needs '{% endif %}'"},
      {"{{ 'abc }}", "PARSE ERROR: line 1, column 4: unterminated string literal"},
      {"x {{ 1", "PARSE ERROR: line 1, column 3: unclosed '{{': no '}}' before the end of the template"},
      {"{# never closed", "PARSE ERROR: line 1, column 1: unclosed comment: '{#' has no '#}'"},
      {"{% include 'x' %}", "PARSE ERROR: line 1, column 4: unsupported or unknown tag 'include'"},
      {"{{ a ? b }}", "PARSE ERROR: line 1, column 6: unexpected character '?' in a tag"},
      {"{{ 1 < 2 < 3 }}", "PARSE ERROR: line 1, column 10: chained comparisons are not supported"},
      {"\n  {{ raise_exception('Roles must alternate') }}",
       "RENDER ERROR: line 2, column 6: the template raised an error: Roles must alternate"},
      {"{{ nothing.attr }}", "RENDER ERROR: line 1, column 4: 'nothing' is undefined"},
      {"{{ messages[9].role }}", "RENDER ERROR: line 1, column 4: list object has no element 9"},
      {"{{ 1 + 'a' }}", "RENDER ERROR: line 1, column 6: unsupported operand type(s) for +: 'int' and 'str'"},
      {"{{ n / 0 }}", "RENDER ERROR: line 1, column 6: division by zero"},
      {"{{ x | nofilter }}", "RENDER ERROR: line 1, column 6: unknown filter 'nofilter'"},
      {"{{ x is notatest }}", "RENDER ERROR: line 1, column 6: unknown test 'notatest'"},
      {"{{ name() }}", "RENDER ERROR: line 1, column 4: 'str' object is not callable"},
      {"{% for x in none %}{% endfor %}", "RENDER ERROR: line 1, column 4: 'NoneType' object is not iterable"},
      {"{% set name.x = 1 %}",
       "RENDER ERROR: line 1, column 4: cannot assign attribute 'x' on 'name' (a str, not a namespace())"},
      {"{{ 'a'.nomethod() }}", "RENDER ERROR: line 1, column 4: 'str object' has no attribute 'nomethod'"},
      {"{{ 2 ** 64 }}", "RENDER ERROR: line 1, column 6: integer overflow"},
  };
  ExpectAll(cases);
}

TEST(Jinja, LimitsAreErrorsNotCrashes) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(Render(deep).find("nested too deeply"), std::string::npos);
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_NE(Render(chain + " }}").find("nested too deeply"), std::string::npos);
  std::string blocks;
  for (int i = 0; i < 5000; ++i) blocks += "{% if true %}";
  EXPECT_NE(Render(blocks).find("nested too deeply"), std::string::npos);
  EXPECT_NE(Render("{{ 'x' * 1000000000000 }}").find("output limit"), std::string::npos);
  EXPECT_NE(Render("{{ range(1000000000) }}").find("100000"), std::string::npos);
  EXPECT_NE(Render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("deeper than 32"),
            std::string::npos);
}

// Loop iterations and macro calls share one budget (a small one here, to stay fast).
TEST(Jinja, StepBudgetStopsRunawayTemplates) {
  RenderOptions o;
  o.max_steps = 20000;
  for (const char* source :
       {"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        // Each call doubles: 2^32 calls unless counted.
        "{% macro f(d) %}{% if d < 31 %}{{ f(d + 1) }}{{ f(d + 1) }}{% endif %}{% endmacro %}{{ f(0) }}",
        "{% for m in range(100) %}{{ range(100000) | length }}{% endfor %}"}) {
    Result<Template> t = Template::Parse(source);
    ASSERT_TRUE(t.ok()) << t.status().message();
    Result<std::string> s = t->Render(Context(), o);
    ASSERT_FALSE(s.ok()) << source;
    EXPECT_NE(s.status().message().find("more than 20000 loop iterations and macro calls"),
              std::string::npos)
        << s.status().message();
  }
}

// Real templates with random bytes cut, duplicated and overwritten: every
// result is a rendering or an error, and every parse error names its place.
TEST(Jinja, MutatedRealTemplatesFailCleanly) {
  const std::string dir = QUEST_CHAT_TEMPLATES_DIR;
  const char* files[] = {"Qwen-Qwen3-0.6B.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja",
                         "mistralai-Mistral-Nemo-Instruct-2407.jinja"};
  std::mt19937 rng(1234);
  int parse_errors = 0, render_errors = 0, rendered = 0;
  for (const char* file : files) {
    std::ifstream f(dir + "/" + file, std::ios::binary);
    const std::string original((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(original.empty()) << file;
    for (int round = 0; round < 300; ++round) {
      std::string s = original;
      for (int edits = 1 + static_cast<int>(rng() % 4); edits > 0; --edits) {
        const size_t at = rng() % s.size();
        const size_t len = std::min<size_t>(1 + rng() % 24, s.size() - at);
        switch (rng() % 3) {
          case 0: s.erase(at, len); break;
          case 1: s.insert(at, s.substr(rng() % s.size(), len)); break;
          default: s[at] = "{}%#-+()[]'\"\n |.x0"[rng() % 19]; break;
        }
        if (s.empty()) s.push_back('x');
      }
      Result<Template> t = Template::Parse(s);
      if (!t.ok()) {
        EXPECT_EQ(t.status().message().rfind("line ", 0), 0u) << t.status().message();
        ++parse_errors;
        continue;
      }
      Result<std::string> out = t->Render(Context());
      out.ok() ? ++rendered : ++render_errors;
    }
  }
  // The mutations reach all three outcomes.
  EXPECT_GT(parse_errors, 100);
  EXPECT_GT(rendered, 50);
  EXPECT_GT(render_errors, 5);
}

}  // namespace
}  // namespace quest::jinja
