// Shared by the JSON Schema tests (tests/text/json_schema_test.cpp) and the structured-output
// tests through sessions and the C API: a validator for the JSON Schema subset that
// text/json_schema.hpp supports, and a generator of random schemas over that subset
// (nested objects / arrays / enums / bounded integers / patterns / anyOf / oneOf / $ref,
// recursive ones included).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "smolvlm/io/json.hpp"
#include "smolvlm/pipeline/sampler.hpp"

namespace json_schema_test {

using smolvlm::json_value;

inline std::string json_str(const std::string& s) {
    std::string out;
    smolvlm::json_append_string(out, s);
    return out;
}

// ---- validator for the supported subset ---------------------------------------------------

inline bool json_equal(const json_value& a, const json_value& b) {
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case json_value::kind::null: return true;
        case json_value::kind::boolean: return a.as_bool() == b.as_bool();
        case json_value::kind::number:
            if (a.is_integer() && b.is_integer()) return a.as_int() == b.as_int();
            return a.as_number() == b.as_number();
        case json_value::kind::string: return a.as_string() == b.as_string();
        case json_value::kind::array:
            if (a.size() != b.size()) return false;
            for (std::size_t k = 0; k < a.size(); ++k)
                if (!json_equal(a[k], b[k])) return false;
            return true;
        case json_value::kind::object:
            if (a.size() != b.size()) return false;
            for (const auto& m : a.members()) {
                const json_value* o = b.find(m.first);
                if (!o || !json_equal(m.second, *o)) return false;
            }
            return true;
    }
    return false;
}

inline std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xc0u) != 0x80u;
    return n;
}

class validator {
public:
    explicit validator(const json_value& root) : root_(root) {}
    std::string why;

    bool check(const json_value& v, const json_value& s, const std::string& path = "$") {
        if (s.is_bool()) return s.as_bool() || fail(path, "schema false");
        if (!s.is_object()) return fail(path, "bad schema");
        if (const json_value* r = s.find("$ref")) {
            const json_value* t = resolve(r->as_string());
            if (!t) return fail(path, "bad $ref");
            return check(v, *t, path);
        }
        if (const json_value* c = s.find("const"))
            if (!json_equal(v, *c)) return fail(path, "const");
        if (const json_value* e = s.find("enum")) {
            bool any = false;
            for (const auto& x : e->items()) any = any || json_equal(v, x);
            if (!any) return fail(path, "enum");
        }
        if (const json_value* a = s.find("anyOf")) {
            bool any = false;
            for (const auto& x : a->items()) {
                validator sub(root_);
                any = any || sub.check(v, x, path);
            }
            if (!any) return fail(path, "anyOf");
        }
        if (const json_value* a = s.find("oneOf")) {
            int n = 0;
            for (const auto& x : a->items()) {
                validator sub(root_);
                n += sub.check(v, x, path);
            }
            if (n != 1) return fail(path, "oneOf matched " + std::to_string(n));
        }
        if (const json_value* a = s.find("allOf"))
            for (const auto& x : a->items())
                if (!check(v, x, path)) return false;
        if (const json_value* t = s.find("type")) {
            bool any = false;
            if (t->is_string()) {
                any = has_type(v, t->as_string());
            } else {
                for (const auto& x : t->items()) any = any || has_type(v, x.as_string());
            }
            if (!any) return fail(path, "type");
        }
        if (v.is_object()) return check_object(v, s, path);
        if (v.is_array()) return check_array(v, s, path);
        if (v.is_string()) return check_string(v, s, path);
        if (v.is_number()) return check_number(v, s, path);
        return true;
    }

private:
    bool fail(const std::string& path, const std::string& what) {
        if (why.empty()) why = path + ": " + what;
        return false;
    }

    const json_value* resolve(const std::string& ref) const {
        if (ref == "#") return &root_;
        const json_value* v = &root_;
        std::size_t k = 2;
        while (v && k <= ref.size()) {
            std::size_t e = ref.find('/', k);
            if (e == std::string::npos) e = ref.size();
            std::string tok = ref.substr(k, e - k);
            for (std::size_t p; (p = tok.find("~1")) != std::string::npos;) tok.replace(p, 2, "/");
            for (std::size_t p; (p = tok.find("~0")) != std::string::npos;) tok.replace(p, 2, "~");
            v = v->find(tok);
            k = e + 1;
        }
        return v;
    }

    static bool integral(const json_value& v) {
        return v.is_number() && (v.is_integer() || std::floor(v.as_number()) == v.as_number());
    }

    static bool has_type(const json_value& v, const std::string& t) {
        if (t == "null") return v.is_null();
        if (t == "boolean") return v.is_bool();
        if (t == "string") return v.is_string();
        if (t == "number") return v.is_number();
        if (t == "integer") return integral(v);
        if (t == "array") return v.is_array();
        if (t == "object") return v.is_object();
        return false;
    }

    bool check_object(const json_value& v, const json_value& s, const std::string& path) {
        const json_value* props = s.find("properties");
        // A declared property must appear once. Extra properties may repeat a key among
        // themselves (documented: a context-free grammar cannot keep them distinct).
        for (std::size_t i = 0; i < v.members().size(); ++i)
            for (std::size_t j = i + 1; j < v.members().size(); ++j)
                if (v.members()[i].first == v.members()[j].first) {
                    const std::string& k = v.members()[i].first;
                    const json_value* req = s.find("required");
                    bool declared = props && props->find(k);
                    if (req)
                        for (const auto& r : req->items()) declared = declared || r.as_string() == k;
                    if (declared) return fail(path, "declared property " + k + " twice");
                }
        if (const json_value* req = s.find("required"))
            for (const auto& r : req->items())
                if (!v.find(r.as_string())) return fail(path, "missing " + r.as_string());
        const json_value* add = s.find("additionalProperties");
        for (const auto& m : v.members()) {
            const json_value* ps = props ? props->find(m.first) : nullptr;
            if (ps) {
                if (!check(m.second, *ps, path + "." + m.first)) return false;
            } else if (add) {
                if (!check(m.second, *add, path + "." + m.first)) return false;
            }
        }
        return true;
    }

    bool check_array(const json_value& v, const json_value& s, const std::string& path) {
        const json_value* items = s.find("items");
        const json_value* prefix = s.find("prefixItems");
        const json_value* rest = items;
        if (items && items->is_array()) {
            prefix = items;
            rest = s.find("additionalItems");
        }
        for (std::size_t k = 0; k < v.size(); ++k) {
            const std::string p = path + "[" + std::to_string(k) + "]";
            if (prefix && k < prefix->size()) {
                if (!check(v[k], (*prefix)[k], p)) return false;
            } else if (rest) {
                if (!check(v[k], *rest, p)) return false;
            }
        }
        if (const json_value* x = s.find("minItems"))
            if (double(v.size()) < x->as_number()) return fail(path, "minItems");
        if (const json_value* x = s.find("maxItems"))
            if (double(v.size()) > x->as_number()) return fail(path, "maxItems");
        return true;
    }

    bool check_string(const json_value& v, const json_value& s, const std::string& path) {
        const std::string& str = v.as_string();
        if (const json_value* x = s.find("minLength"))
            if (double(code_points(str)) < x->as_number()) return fail(path, "minLength");
        if (const json_value* x = s.find("maxLength"))
            if (double(code_points(str)) > x->as_number()) return fail(path, "maxLength");
        if (const json_value* p = s.find("pattern"))
            if (!std::regex_search(str, std::regex(p->as_string(), std::regex::ECMAScript)))
                return fail(path, "pattern " + p->as_string() + " on " + str);
        if (const json_value* f = s.find("format")) {
            static const std::string date = R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))";
            static const std::string time = R"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))";
            std::string re;
            if (f->as_string() == "date") re = "^" + date + "$";
            if (f->as_string() == "time") re = "^" + time + "$";
            if (f->as_string() == "date-time") re = "^" + date + "T" + time + "$";
            if (f->as_string() == "uuid") re = "^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$";
            if (!re.empty() && !std::regex_search(str, std::regex(re))) return fail(path, "format " + f->as_string());
        }
        return true;
    }

    bool check_number(const json_value& v, const json_value& s, const std::string& path) {
        // Exact for int64 values and int64 bounds; doubles otherwise.
        auto below = [&](const json_value& bound) {  // v < bound
            if (v.is_integer() && bound.is_integer()) return v.as_int() < bound.as_int();
            return v.as_number() < bound.as_number();
        };
        auto above = [&](const json_value& bound) {  // v > bound
            if (v.is_integer() && bound.is_integer()) return v.as_int() > bound.as_int();
            return v.as_number() > bound.as_number();
        };
        if (const json_value* x = s.find("minimum"))
            if (below(*x)) return fail(path, "minimum");
        if (const json_value* x = s.find("maximum"))
            if (above(*x)) return fail(path, "maximum");
        if (const json_value* x = s.find("exclusiveMinimum"))
            if (x->is_number() && !above(*x)) return fail(path, "exclusiveMinimum");
        if (const json_value* x = s.find("exclusiveMaximum"))
            if (x->is_number() && !below(*x)) return fail(path, "exclusiveMaximum");
        return true;
    }

    const json_value& root_;
};

// ---- random schemas -----------------------------------------------------------------------

class schema_gen {
public:
    explicit schema_gen(std::uint64_t seed) : rng_(splitmix(seed)) {}

    // A root schema with $defs (or definitions): d0 a random schema, d1 a recursive tree.
    std::string root() {
        defs_key_ = pick(2) ? "$defs" : "definitions";
        const std::string d0 = any(1);
        const std::string d1 = R"({"type":"object","properties":{"v":{"type":"integer","minimum":-5,"maximum":99},)"
                               R"("kids":{"type":"array","items":{"$ref":"#/)" + defs_key_ +
                               R"(/d1"},"maxItems":2}},"required":["v"],"additionalProperties":false})";
        use_defs_ = true;
        std::string body = any(0);
        const std::string defs = "\"" + defs_key_ + "\":{\"d0\":" + d0 + ",\"d1\":" + d1 + "}";
        return body == "{}" ? "{" + defs + "}" : "{" + defs + "," + body.substr(1);
    }

private:
    static std::uint64_t splitmix(std::uint64_t x) {
        x += 0x9e3779b97f4a7c15ull;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        return x ^ (x >> 31);
    }
    int pick(int n) { return int(rng_.next_u32() % std::uint32_t(n)); }

    std::string value_literal(int depth) {
        switch (pick(depth > 1 ? 5 : 7)) {
            case 0: return std::to_string(pick(2001) - 1000);
            case 1: return json_str(strings()[pick(int(strings().size()))]);
            case 2: return pick(2) ? "true" : "false";
            case 3: return "null";
            case 4: return std::to_string(pick(100) - 50) + "." + std::to_string(pick(100));
            case 5: {
                const std::string a = value_literal(depth + 1);
                const std::string b = value_literal(depth + 1);
                return "[" + a + "," + b + "]";
            }
            default: return "{\"k\":" + value_literal(depth + 1) + "}";
        }
    }

    static const std::vector<std::string>& strings() {
        static const std::vector<std::string> s = {"red", "green", "a b", "quo\"te", "back\\slash", "new\nline",
                                                   "\xc3\xa9t\xc3\xa9", "\xce\xb1\xce\xb2", "", "x", "tab\tbed"};
        return s;
    }

    std::string prop_name() {
        static const char* const names[] = {"id", "name", "tags", "x", "y-z", "kind", "hp", "pos", "\xc3\xa9l\xc3\xa8ve",
                                            "quo\"te", "back\\slash", "a b", "v2", "_meta"};
        return names[pick(int(sizeof(names) / sizeof(names[0])))];
    }

    std::string pattern() {
        std::string p;
        const bool start = pick(5) != 0, end = pick(5) != 0;
        if (start) p += "^";
        const int n = 1 + pick(4);
        for (int k = 0; k < n; ++k) {
            std::string atom;
            switch (pick(9)) {
                case 0: atom = std::string(1, "abcxyz019-_ "[pick(12)]); break;
                case 1: atom = "[a-f]"; break;
                case 2: atom = "[A-Z0-9]"; break;
                case 3: atom = "\\d"; break;
                case 4: atom = "\\w"; break;
                case 5: atom = "(ab|c|)"; break;
                case 6: atom = "(?:x[0-3])"; break;
                case 7: atom = "\""; break;
                default: atom = pick(2) ? "\\\\" : "\\."; break;
            }
            switch (pick(7)) {
                case 0: atom += "?"; break;
                case 1: atom += "*"; break;
                case 2: atom += "+"; break;
                case 3: atom += "{" + std::to_string(pick(3)) + "}"; break;
                case 4: atom += "{1," + std::to_string(1 + pick(3)) + "}"; break;
                default: break;
            }
            p += atom;
        }
        if (end) p += "$";
        if (pick(6) == 0) p += "|^z+$";
        return p;
    }

    std::string bound() {
        switch (pick(5)) {
            case 0: return std::to_string(pick(41) - 20);
            case 1: return std::to_string(pick(20001) - 10000);
            case 2: return std::to_string(std::int64_t(rng_.next_u32()) * 1000003 - 2000000000000000);
            case 3: return pick(2) ? "9223372036854775807" : "-9223372036854775808";
            default: return std::to_string(pick(1000));
        }
    }

    std::string integer() {
        std::string lo = bound(), hi = bound();
        if (std::stoll(lo) > std::stoll(hi)) std::swap(lo, hi);
        switch (pick(6)) {
            case 0: return R"({"type":"integer"})";
            case 1: return R"({"type":"integer","minimum":)" + lo + "}";
            case 2: return R"({"type":"integer","maximum":)" + hi + "}";
            case 3:
                // lo <= hi: the unsigned difference is exact (a signed one overflows for extreme bounds)
                if (lo == hi || (unsigned long long)std::stoll(hi) - (unsigned long long)std::stoll(lo) < 2)
                    return R"({"type":"integer","minimum":)" + lo + "}";
                return R"({"type":"integer","exclusiveMinimum":)" + lo + R"(,"exclusiveMaximum":)" + hi + "}";
            default: return R"({"type":"integer","minimum":)" + lo + R"(,"maximum":)" + hi + "}";
        }
    }

    std::string number() {
        const int lo = pick(41) - 20, hi = lo + pick(30);
        switch (pick(4)) {
            case 0: return R"({"type":"number"})";
            case 1: return R"({"type":"number","minimum":)" + std::to_string(lo) + "}";
            case 2: return R"({"type":"number","maximum":)" + std::to_string(hi) + "}";
            default:
                return R"({"type":"number","minimum":)" + std::to_string(lo) + R"(,"maximum":)" + std::to_string(hi) + "}";
        }
    }

    std::string string_schema() {
        switch (pick(6)) {
            case 0: return R"({"type":"string"})";
            case 1: {
                const int lo = pick(4);
                return R"({"type":"string","minLength":)" + std::to_string(lo) + R"(,"maxLength":)" + std::to_string(lo + pick(6)) + "}";
            }
            case 2: return R"({"type":"string","maxLength":)" + std::to_string(pick(8)) + "}";
            case 3: return R"({"type":"string","pattern":)" + json_str(pattern()) + "}";
            case 4: {
                static const char* const f[] = {"date", "time", "date-time", "uuid", "email"};
                return R"({"type":"string","format":")" + std::string(f[pick(5)]) + "\"}";
            }
            default: return R"({"type":"string","minLength":1})";
        }
    }

    std::string object(int depth) {
        std::vector<std::string> names;
        const int n = pick(5);
        for (int k = 0; k < n; ++k) {
            const std::string nm = prop_name();
            if (std::find(names.begin(), names.end(), nm) == names.end()) names.push_back(nm);
        }
        std::string props, req;
        for (const auto& nm : names) {
            if (!props.empty()) props += ",";
            props += json_str(nm) + ":" + any(depth + 1);
            if (pick(2)) req += (req.empty() ? "" : ",") + json_str(nm);
        }
        std::string s = R"({"type":"object","properties":{)" + props + "}";
        if (!req.empty()) s += R"(,"required":[)" + req + "]";
        switch (pick(6)) {
            case 0: case 1: case 2: s += R"(,"additionalProperties":false)"; break;
            case 3: s += R"(,"additionalProperties":true)"; break;
            case 4: s += R"(,"additionalProperties":)" + scalar(); break;
            default: break;  // absent: extra properties allowed
        }
        return s + "}";
    }

    std::string array(int depth) {
        const int mn = pick(3);
        std::string s = R"({"type":"array")";
        switch (pick(5)) {
            case 0: break;  // items absent: any values
            case 1: {
                const std::string a = any(depth + 1);
                const std::string b = scalar();
                s += R"(,"prefixItems":[)" + a + "," + b + "]";
                s += pick(2) ? R"(,"items":false)" : R"(,"items":)" + scalar();
                break;
            }
            default: s += R"(,"items":)" + any(depth + 1); break;
        }
        if (pick(2)) s += R"(,"minItems":)" + std::to_string(mn);
        if (pick(3) == 0 || depth > 1) s += R"(,"maxItems":)" + std::to_string(mn + pick(4));
        return s + "}";
    }

    std::string scalar() {
        switch (pick(7)) {
            case 0: return integer();
            case 1: return number();
            case 2: return string_schema();
            case 3: return R"({"type":"boolean"})";
            case 4: return R"({"type":"null"})";
            case 5: {
                const std::string a = value_literal(2);
                const std::string b = value_literal(2);
                return R"({"enum":[)" + a + "," + b + "]}";
            }
            default: return R"({"const":)" + value_literal(1) + "}";
        }
    }

    std::string any(int depth) {
        if (depth >= 3) return scalar();
        switch (pick(12)) {
            case 0: case 1: case 2: return object(depth);
            case 3: case 4: return array(depth);
            case 5: return R"({"type":["string","null"],"maxLength":)" + std::to_string(pick(6)) + "}";
            case 6: return R"({"type":["integer","boolean"],"minimum":)" + std::to_string(pick(10)) + "}";
            case 7: {
                const std::string a = any(depth + 1);
                const std::string b = any(depth + 1);
                return R"({"anyOf":[)" + a + "," + b + "]}";
            }
            case 8: {  // oneOf with branches of different types: exactly one can match
                const std::string a = integer();
                const std::string b = scalar();
                return R"({"oneOf":[)" + a + R"(,{"type":"string","maxLength":4},{"type":"array","items":)" + b +
                       R"(,"maxItems":2}]})";
            }
            case 9:
                if (use_defs_) return R"({"$ref":"#/)" + defs_key_ + (pick(2) ? "/d0\"}" : "/d1\"}");
                return scalar();
            case 10: {
                const std::string a = value_literal(1);
                const std::string b = value_literal(1);
                const std::string c = value_literal(0);
                return R"({"enum":[)" + a + "," + b + "," + c + "]}";
            }
            default: return scalar();
        }
    }

    smolvlm::pcg32 rng_;
    std::string defs_key_ = "$defs";
    bool use_defs_ = false;
};

}  // namespace json_schema_test
