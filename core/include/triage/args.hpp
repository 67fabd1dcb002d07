// Parsing of user-supplied arguments: "-z triage_*" forms and numeric preferences.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace triage {

struct StatArg {
    std::string stat;    // e.g. "triage_rtt"
    std::string form;    // "tree" | "json" | "csv"
    std::string filter;  // display filter, may be empty (and may contain commas)
};

// Parses "<stat>,<form>[,<filter>]" where form is one of `forms`. On error,
// `error` says what was wrong and lists the valid forms.
bool parse_stat_arg(std::string_view arg, std::string_view stat, const std::vector<std::string>& forms, StatArg* out,
                    std::string* error);
std::string usage_line(std::string_view stat, const std::vector<std::string>& forms);

// A non-negative decimal such as "0.09"; the error names the value.
bool parse_price(std::string_view text, double* out, std::string* error);

}  // namespace triage
