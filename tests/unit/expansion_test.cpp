// $(VAR) expansion: upstream's own table (kubernetes third_party/forked/golang/expansion/
// expand_test.go: TestMapReference, TestMapping, TestMappingDual), ported case by case.
#include "handlers/expansion.hpp"

#include <gtest/gtest.h>

#include <map>

#include "handlers/model.hpp"

using namespace lifehook;

namespace {

ExpansionMapping mapping_for(std::vector<std::map<std::string, std::string>> contexts) {
  return [contexts = std::move(contexts)](std::string_view name) -> std::optional<std::string> {
    for (const auto& vars : contexts)
      if (auto it = vars.find(std::string(name)); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

struct Case {
  const char* name;
  const char* input;
  const char* expected;
};

const Case kCases[] = {
    {"whole string", "$(VAR_A)", "A"},
    {"repeat", "$(VAR_A)-$(VAR_A)", "A-A"},
    {"beginning", "$(VAR_A)-1", "A-1"},
    {"middle", "___$(VAR_B)___", "___B___"},
    {"end", "___$(VAR_C)", "___C"},
    {"compound", "$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"},
    {"escape & expand", "$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"},
    {"compound escape", "$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"},
    {"mixed in escapes", "f000-$$VAR_A", "f000-$VAR_A"},
    {"backslash escape ignored", "foo\\$(VAR_C)bar", "foo\\Cbar"},
    {"backslash escape ignored", "foo\\\\$(VAR_C)bar", "foo\\\\Cbar"},
    {"lots of backslashes", "foo\\\\\\\\$(VAR_A)bar", "foo\\\\\\\\Abar"},
    {"nested var references", "$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"},
    {"nested var references second type", "$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
    {"value is a reference", "$(VAR_REF)", "$(VAR_A)"},
    {"value is a reference x 2", "%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"},
    {"empty var", "foo$(VAR_EMPTY)bar", "foobar"},
    {"unterminated expression", "foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"},
    {"expression without operator", "f00__(VAR_A)__", "f00__(VAR_A)__"},
    {"shell special vars pass through", "$?_boo_$!", "$?_boo_$!"},
    {"bare operators are ignored", "$VAR_A", "$VAR_A"},
    {"undefined vars are passed through", "$(VAR_DNE)", "$(VAR_DNE)"},
    {"multiple (even) operators, var undefined", "$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"},
    {"multiple (even) operators, var defined", "$$$$$$(VAR_A)", "$$$(VAR_A)"},
    {"multiple (odd) operators, var undefined", "$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"},
    {"multiple (odd) operators, var defined", "$$$$$$$(VAR_A)", "$$$A"},
    {"missing open expression", "$VAR_A)", "$VAR_A)"},
    {"shell syntax ignored", "${VAR_A}", "${VAR_A}"},
    {"trailing incomplete expression not consumed", "$(VAR_B)_______$(A", "B_______$(A"},
    {"trailing incomplete expression, no content, is not consumed", "$(VAR_C)_______$(", "C_______$("},
    {"operator at end of input string is preserved", "$(VAR_A)foobarzab$", "Afoobarzab$"},
    {"shell escaped incomplete expr", "foo-\\$(VAR_A", "foo-\\$(VAR_A"},
    {"lots of $( in middle", "--$($($($($--", "--$($($($($--"},
    {"lots of $( in beginning", "$($($($($--foo$(", "$($($($($--foo$("},
    {"lots of $( at end", "foo0--$($($($(", "foo0--$($($($("},
    {"escaped operators in variable names are not escaped", "$(foo$$var)", "$(foo$$var)"},
    {"newline not expanded", "\n", "\n"},
};

void expansion_table(const ExpansionMapping& mapping) {
  for (const auto& c : kCases) EXPECT_EQ(expand(c.input, mapping), c.expected) << c.name << ": " << c.input;
}

}  // namespace

TEST(Expansion, UpstreamMapping) {
  expansion_table(
      mapping_for({{{"VAR_A", "A"}, {"VAR_B", "B"}, {"VAR_C", "C"}, {"VAR_REF", "$(VAR_A)"}, {"VAR_EMPTY", ""}}}));
}

TEST(Expansion, UpstreamMappingDual) {
  expansion_table(
      mapping_for({{{"VAR_A", "A"}, {"VAR_EMPTY", ""}}, {{"VAR_B", "B"}, {"VAR_C", "C"}, {"VAR_REF", "$(VAR_A)"}}}));
}

TEST(Expansion, UpstreamMapReference) {
  std::vector<EnvVar> env{{"FOO", "bar"}, {"ZOO", "$(FOO)-1"}, {"BLU", "$(ZOO)-2"}};
  expand_env_values(env);
  EXPECT_EQ(env[0].value, "bar");
  EXPECT_EQ(env[1].value, "bar-1");
  EXPECT_EQ(env[2].value, "bar-1-2");
}

TEST(Expansion, EnvValuesSeeOnlyEarlierEntries) {
  auto r = parse_request(R"J({"handler":{"exec":{"command":["echo","$(B)","$(A$(A))"]}},
      "target":{"env":[{"name":"C","value":"$(A)"},{"name":"A","value":"x"},{"name":"B","value":"$(A)-y"}]}})J");
  EXPECT_EQ(r.target.env[0].value, "$(A)");  // A is defined after C
  EXPECT_EQ(r.target.env[2].value, "x-y");
  EXPECT_EQ(std::get<ExecSpec>(r.handler).command, (std::vector<std::string>{"echo", "x-y", "$(A$(A))"}));
}

TEST(Expansion, TheLastDefinitionWins) { EXPECT_EQ(expand_vars("$(A)", {{"A", "1"}, {"A", "2"}}), "2"); }
