using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace TrustServer.Server.OpenApi;

/// <summary>
/// Examples of the documented operations by operation id: path/query parameter values (Swagger UI pre-fills "Try it
/// out" with them, so a Notary route is tried on a real GUN such as <c>example.com/app</c>) and response bodies.
/// </summary>
internal static class ApiExamples
{
    private const string Gun = "example.com/app";
    private const string Sha = "0f4f6c9b5e3a1d2c8b7a69584736251403f2e1d0c9b8a7f6e5d4c3b2a1908172";
    private const string KeyId = "9c1cdd4e6a8e0b13b3d2b3cf5ab2b2c7e4f90a3f0b4d5c6e7f8091a2b3c4d5e6";
    private const string NotFound = """{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist.","detail":{}}]}""";
    private const string Unauthorized = """{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"example.com/app","Action":"pull"}]}]}""";
    private const string Timestamp = """{"signed":{"_type":"Timestamp","expires":"2026-12-15T12:00:00Z","meta":{"snapshot":{"hashes":{"sha256":"D09MnD2TJzLd3J7p7aVhrzxu0tcBVYpd8xnMQ8pu0VE="},"length":687}},"version":3},"signatures":[{"keyid":"9c1cdd4e6a8e0b13b3d2b3cf5ab2b2c7e4f90a3f0b4d5c6e7f8091a2b3c4d5e6","method":"ecdsa","sig":"MEUCIQDn…"}]}""";
    private const string Key = """{"keytype":"ecdsa","keyval":{"public":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…","private":null}}""";
    private const string Changes = """{"count":1,"records":[{"ID":"42","CreatedAt":"2026-12-01T12:00:00Z","GUN":"example.com/app","Version":3,"SHA256":"0f4f6c9b5e3a1d2c8b7a69584736251403f2e1d0c9b8a7f6e5d4c3b2a1908172","Category":"update"}]}""";
    private const string BadPaging = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"Invalid paging","status":400,"detail":"'page' must be at least 1 and 'pageSize' between 1 and 500."}""";
    private const string BadDays = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"Invalid parameter","status":400,"detail":"Failed to bind parameter \"int days\" from \"soon\"."}""";
    private const string MissingGun = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"Missing parameter","status":400,"detail":"The query parameter 'gun' is required."}""";
    private const string UnknownRepository = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Unknown repository","status":404,"detail":"No metadata is stored for 'example.com/app'."}""";
    private const string NoToken = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.2","title":"Authentication required","status":401,"detail":"The admin API requires a bearer token granting registry:catalog:*, from the token service the WWW-Authenticate challenge names."}""";
    private const string NoScope = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.4","title":"Insufficient scope","status":403,"detail":"The token does not grant registry:catalog:*, which the admin API requires."}""";
    private const string Failed = """{"type":"https://tools.ietf.org/html/rfc9110#section-15.6.1","title":"Internal error","status":500,"detail":"The request failed; the server log has the cause (request id 0HNA1B2C3D4E5:00000001)."}""";

    private static readonly Dictionary<string, string> ParameterValues = new(StringComparer.Ordinal)
    {
        ["gun"] = Gun, ["role"] = "root", ["checksum"] = Sha, ["version"] = "1", ["records"] = "10", ["change_id"] = "-1",
        ["prefix"] = "example.com/", ["days"] = "30", ["renewedBy"] = "owner", ["principal"] = "alice", ["action"] = "publish",
        ["from"] = "2026-12-01T00:00:00Z", ["to"] = "2026-12-02T00:00:00Z",
    };

    // Operation id → (status → example body).
    private static readonly Dictionary<string, Dictionary<string, string>> Responses = new(StringComparer.Ordinal)
    {
        ["GetRole"] = new() { ["200"] = Timestamp, ["401"] = Unauthorized, ["404"] = NotFound },
        ["GetRoleByHash"] = new() { ["200"] = Timestamp, ["404"] = NotFound },
        ["GetRoleByVersion"] = new() { ["200"] = Timestamp, ["404"] = NotFound },
        ["GetKey"] = new() { ["200"] = Key, ["404"] = NotFound },
        ["RotateKey"] = new() { ["200"] = Key },
        ["GetRepositoryChangefeed"] = new() { ["200"] = Changes },
        ["GetChangefeed"] = new() { ["200"] = Changes },
        ["UpdateTUF"] = new() { ["400"] = """{"errors":[{"code":"VERSION","message":"The version number of the metadata is not the next one."}]}""" },
        ["ListRepositories"] = Admin(BadPaging, """{"items":[{"gun":"example.com/app","lastUpdated":"2026-12-01T12:00:00+00:00","fileCount":7}],"page":1,"pageSize":50,"total":1}"""),
        ["GetRepository"] = Admin(
            MissingGun,
            $$"""{"gun":"example.com/app","roles":[{"role":"root","version":1,"expires":"2036-11-29T12:00:00+00:00","sha256":"{{Sha}}","length":2417,"storedAt":"2026-12-01T12:00:00+00:00","keys":[{"id":"{{KeyId}}","type":"ecdsa-x509","roles":["root"]}]}],"serverManagedSnapshot":true}""",
            notFound: true),
        ["GetRoleHistory"] = Admin(BadPaging, $$"""{"items":[{"version":2,"sha256":"{{Sha}}","length":1290,"storedAt":"2026-12-01T12:00:00+00:00"}],"page":1,"pageSize":50,"total":2}""", notFound: true),
        ["GetExpiring"] = Admin(
            BadDays,
            $$"""{"items":[{"gun":"example.com/app","role":"targets","version":4,"expires":"2026-12-20T12:00:00+00:00","expired":false,"renewedBy":"owner","keys":["{{KeyId}}"],"threshold":1,"command":"notary -s https://trust.example.com witness example.com/app targets --publish"}],"page":1,"pageSize":50,"total":1}"""),
        ["GetAuditLog"] = Admin(BadPaging, """{"items":[{"id":17,"time":"2026-12-01T12:00:00+00:00","action":"publish","outcome":"succeeded","principal":"alice","remoteAddress":"10.0.0.7","gun":"example.com/app","files":"targets@4,snapshot@4,timestamp@4","requestId":"0HNA1B2C3D4E5:00000001","detail":null}],"page":1,"pageSize":50,"total":1}"""),
        ["GetRetentionPreview"] = Admin(MissingGun, """{"gun":"example.com/app","enabled":true,"count":1,"bytes":1290,"versions":[{"role":"targets","version":1,"storedAt":"2026-11-01T12:00:00+00:00","bytes":1290}]}""", notFound: true),
    };

    /// <summary>Adds the examples of <paramref name="operationId"/> to <paramref name="operation"/> (none known: unchanged).</summary>
    public static void Apply(string operationId, OpenApiOperation operation)
    {
        foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
        {
            if (parameter.Name is { } name && ParameterValues.TryGetValue(name, out var value))
            {
                parameter.Example = parameter.Schema?.Type == JsonSchemaType.Integer ? JsonValue.Create(int.Parse(value, System.Globalization.CultureInfo.InvariantCulture)) : JsonValue.Create(value);
            }
        }

        if (!Responses.TryGetValue(operationId, out var examples))
        {
            return;
        }

        foreach (var (status, body) in examples)
        {
            if (operation.Responses?.TryGetValue(status, out var response) == true && response.Content is { } content)
            {
                foreach (var media in content.Values)
                {
                    media.Example = JsonNode.Parse(body);
                }
            }
        }
    }

    private static Dictionary<string, string> Admin(string badRequest, string ok, bool notFound = false)
    {
        var examples = new Dictionary<string, string> { ["200"] = ok, ["400"] = badRequest, ["401"] = NoToken, ["403"] = NoScope, ["500"] = Failed };
        if (notFound)
        {
            examples["404"] = UnknownRepository;
        }

        return examples;
    }
}
