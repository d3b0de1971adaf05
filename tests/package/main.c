/* C consumer of the C API library for the packaging tests (find_package smolvlm::c,
 * pkg-config smolvlm-c): version, a grammar from a JSON Schema, an error with its message. */
#include <smolvlm.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    smolvlm_grammar* g = NULL;
    smolvlm_model* m = NULL;
    smolvlm_generate_params p = smolvlm_generate_default_params();
    if (smolvlm_c_api_version() < SMOLVLM_C_API_VERSION) return 2;
    if (p.struct_size != sizeof p || p.max_new_tokens <= 0) return 3;
    if (smolvlm_grammar_from_json_schema("{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}", &g) !=
        SMOLVLM_OK)
        return 4;
    if (strstr(smolvlm_grammar_gbnf(g), "root") == NULL) return 5;
    smolvlm_grammar_free(g);
    if (smolvlm_model_load("/nonexistent/model", NULL, &m) == SMOLVLM_OK || strlen(smolvlm_last_error()) == 0) return 6;
    printf("smolvlm %s C consumer ok\n", smolvlm_version());
    return 0;
}
