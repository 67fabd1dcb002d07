#include "triage/args.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace triage {

std::string usage_line(std::string_view stat, const std::vector<std::string>& forms) {
    std::string s;
    for (const std::string& f : forms) {
        if (!s.empty()) s += " | ";
        s += "-z " + std::string(stat) + "," + f + "[,filter]";
    }
    return s;
}

bool parse_stat_arg(std::string_view arg, std::string_view stat, const std::vector<std::string>& forms, StatArg* out,
                    std::string* error) {
    auto fail = [&](const std::string& why) {
        *error = "triage: invalid -z argument \"" + std::string(arg) + "\": " + why +
                 ". Valid forms: " + usage_line(stat, forms);
        return false;
    };
    if (arg.substr(0, stat.size()) != stat) return fail("not a " + std::string(stat) + " statistic");
    std::string_view rest = arg.substr(stat.size());
    if (rest.empty()) return fail("missing the output form");
    if (rest.front() != ',') return fail("unknown statistic");
    rest.remove_prefix(1);
    const auto comma = rest.find(',');
    const std::string form(rest.substr(0, comma));
    bool known = false;
    for (const std::string& f : forms) known = known || f == form;
    if (!known) return fail(form.empty() ? "missing the output form" : "unknown output form \"" + form + "\"");
    out->stat = std::string(stat);
    out->form = form;
    out->filter = comma == std::string_view::npos ? std::string() : std::string(rest.substr(comma + 1));
    return true;
}

bool parse_price(std::string_view text, double* out, std::string* error) {
    std::string s(text);
    while (!s.empty() && s.back() == ' ') s.pop_back();
    while (!s.empty() && s.front() == ' ') s.erase(0, 1);
    if (s.empty()) {
        *out = 0;
        return true;
    }
    // std::from_chars reads "0.087" whatever LC_NUMERIC says (strtod would
    // stop at the '.' under a comma-decimal locale).
    double v = 0;
    const char* first = s.data();
    const char* last = s.data() + s.size();
    if (first != last && *first == '+') ++first;
    const auto r = std::from_chars(first, last, v, std::chars_format::fixed);
    if (r.ec != std::errc() || r.ptr != last || !std::isfinite(v)) {
        *error = "triage.egress_price_per_gb: \"" + s + "\" is not a number (use e.g. 0.087)";
        return false;
    }
    if (v < 0) {
        *error = "triage.egress_price_per_gb: \"" + s + "\" is negative; use 0 to hide the cost";
        return false;
    }
    *out = v;
    return true;
}

}  // namespace triage
