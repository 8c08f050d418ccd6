using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace TrustServer.Server.OpenApi;

/// <summary>
/// Documents the Notary v1 routes (spec server-api.md §1). They are dispatched by <c>NotaryRouter</c> rather than by
/// ASP.NET routing (GUNs contain slashes), so ApiExplorer cannot see them; this filter writes them from the same
/// route table order. Path parameters written as <c>{gun}</c> may contain slashes.
/// </summary>
internal sealed class NotaryApiDocumentFilter : IDocumentFilter
{
    private const string Tag = "Notary";
    private const string ErrorSchema = "NotaryErrors";
    private const string Tuf = "/v2/{gun}/_trust/tuf/";

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ErrorSchema] = ErrorEnvelope();
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = Tag, Description = "The Notary v1 protocol, byte for byte as notary-server 0.7.0 (spec server-api.md)." });

        Add(document, "/v2/", HttpMethod.Get, Operation(document, "Ping", "Ping; the notary client calls it before any other request.", "registry:catalog:*",
            [], Ok("`{}`", "application/json")));
        Add(document, Tuf, HttpMethod.Post, Operation(document, "UpdateTUF",
            "Publish metadata: one multipart part per role, the part's filename is the role name (slashes kept, a trailing .json removed); an uploaded timestamp is ignored. Validated as notary-server does; all files and the generated snapshot/timestamp are stored in one transaction.",
            "repository:<gun>:push and repository:<gun>:pull",
            [Gun()],
            Ok("Stored; empty body."),
            Error("400", "MALFORMED_UPLOAD (not multipart, broken body, over a limit), NO_FILENAME, INVALID_ROLE (detail: the role), MALFORMED_JSON, INVALID_UPDATE (detail: {\"Name\":\"ErrBadRoot|ErrBadTargets|ErrBadSnapshot|ErrBadHierarchy|ErrValidation\",\"Error\":{\"Msg\":…}}), VERSION (a newer version is stored, or a concurrent update won), INVALID_GUN"),
            Error("500", "UPDATING (storage or signing service failure; nothing stored)")),
            body: new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["multipart/form-data"] = new()
                    {
                        Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            Properties = new Dictionary<string, IOpenApiSchema>
                            {
                                ["files"] = new OpenApiSchema
                                {
                                    Type = JsonSchemaType.Array,
                                    Items = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" },
                                    Description = "Signed metadata files; each part's filename is its role (root, targets, targets/…, snapshot).",
                                },
                            },
                        },
                    },
                },
            });
        Add(document, Tuf, HttpMethod.Delete, Operation(document, "DeleteTUF",
            "Delete every metadata file of the repository (signer keys stay); a deletion record goes to the changefeed. 200 also for unknown repositories.",
            "repository:<gun>:*", [Gun()], Ok("Deleted; empty body."), Error("500", "UNKNOWN")));
        Add(document, Tuf + "{role}.{checksum}.json", HttpMethod.Get, Operation(document, "GetRoleByHash",
            "A stored file by its SHA-256 (lowercase hex; 96/128 hex digits are accepted by the route and never found). Cache-Control: consistent max-age.",
            "repository:<gun>:pull", [Gun(), Role(), Path("checksum", "SHA-256 of the file, lowercase hex.")], Metadata(), NotFound()));
        Add(document, Tuf + "{version}.{role}.json", HttpMethod.Get, Operation(document, "GetRoleByVersion",
            "A stored version of a role (all versions stay available until the repository is deleted). Cache-Control: consistent max-age.",
            "repository:<gun>:pull", [Gun(), Path("version", "Decimal version, 1 or more."), Role()], Metadata(), NotFound()));
        Add(document, Tuf + "{role}.json", HttpMethod.Get, Operation(document, "GetRole",
            "The current file of a role (reached from the current timestamp). An expired server-signed timestamp or snapshot is re-signed first. Cache-Control: current max-age with must-revalidate.",
            "repository:<gun>:pull", [Gun(), Role()], Metadata(), NotFound(), Error("500", "UNKNOWN (an expired file cannot be re-signed, e.g. the signer is unavailable)")));
        Add(document, Tuf + "{keyRole}.key", HttpMethod.Get, Operation(document, "GetKey",
            "The server-managed key of the role: the first key of the current root the signer holds, else a pending key (created once and reused until used).",
            "repository:<gun>:push and repository:<gun>:pull", [Gun(), KeyRole()], PublicKey(), NotFound(), KeyCreationLimited(), Error("500", "UNKNOWN (signing service failure)")));
        Add(document, Tuf + "{keyRole}.key", HttpMethod.Post, Operation(document, "RotateKey",
            "Create (or return the pending) new server-managed key of the role; the client then publishes a root listing it.",
            "repository:<gun>:*", [Gun(), KeyRole()], PublicKey(), NotFound(), KeyCreationLimited(), Error("500", "UNKNOWN (signing service failure)")));
        Add(document, "/v2/{gun}/_trust/changefeed", HttpMethod.Get, Operation(document, "GetRepositoryChangefeed",
            "Changes (publishes, re-signs, deletion) of one repository.", "repository:<gun>:pull", [Gun(), .. ChangefeedParameters()], Changes(), ParameterError()));
        Add(document, "/v2/_trust/changefeed", HttpMethod.Get, Operation(document, "GetChangefeed",
            "Changes of all repositories.", "registry:catalog:*", ChangefeedParameters(), Changes(), ParameterError()));
        Add(document, "/_notary_server/health", HttpMethod.Get, Operation(document, "NotaryHealth",
            "notary-server's health: {} when healthy; 503 with the failing checks (\"DB operational\", \"Trust operational\").", null, [],
            Ok("Healthy: `{}`.", "application/json"), ("503", new OpenApiResponse { Description = "Failing checks by name." })));
        Add(document, "/metrics", HttpMethod.Get, Operation(document, "Metrics", "Prometheus metrics (text exposition format).", null, [], Ok("Metrics.", "text/plain")));
    }

    private static void Add(OpenApiDocument document, string path, HttpMethod method, OpenApiOperation operation, OpenApiRequestBody? body = null)
    {
        operation.RequestBody = body;
        if (!document.Paths.TryGetValue(path, out var item))
        {
            item = new OpenApiPathItem();
            document.Paths[path] = item;
        }

        ((OpenApiPathItem)item).AddOperation(method, operation);
    }

    private static OpenApiOperation Operation(
        OpenApiDocument document, string id, string description, string? access, IEnumerable<IOpenApiParameter> parameters, params (string Status, OpenApiResponse Response)[] responses)
    {
        var operation = new OpenApiOperation
        {
            OperationId = id,
            Summary = description.Split(". ")[0].TrimEnd('.') + ".",
            Description = access is null ? description : $"{description}\n\nWith token auth: requires `{access}`; otherwise 401 with a Bearer challenge.",
            Tags = new HashSet<OpenApiTagReference> { new(Tag, document) },
            Parameters = [.. parameters],
            Responses = [],
        };
        foreach (var (status, response) in responses)
        {
            operation.Responses[status] = response;
        }

        return operation;
    }

    private static OpenApiParameter Gun() => Path("gun", "Globally unique name of the repository, e.g. docker.io/library/alpine (may contain slashes; not '*').");

    private static OpenApiParameter Role() => Path("role", "root, targets, targets/<delegation>…, snapshot or timestamp.");

    private static OpenApiParameter KeyRole() => new()
    {
        Name = "keyRole",
        In = ParameterLocation.Path,
        Required = true,
        Description = "snapshot or timestamp.",
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("snapshot"), JsonValue.Create("timestamp")] },
    };

    private static OpenApiParameter Path(string name, string description) => new()
    {
        Name = name,
        In = ParameterLocation.Path,
        Required = true,
        Description = description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
    };

    private static IEnumerable<IOpenApiParameter> ChangefeedParameters() =>
    [
        new OpenApiParameter
        {
            Name = "records",
            In = ParameterLocation.Query,
            Required = true,
            Description = "How many records (32-bit): positive reads forward from change_id, negative reads backward; 0 means 100.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
        },
        new OpenApiParameter
        {
            Name = "change_id",
            In = ParameterLocation.Query,
            Description = "Start after (forward) or before (backward) this record id; -1 means the newest. The record itself is never included.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
        },
    ];

    private static (string, OpenApiResponse) Ok(string description, string? mediaType = null) =>
        ("200", mediaType is null
            ? new OpenApiResponse { Description = description }
            : new OpenApiResponse { Description = description, Content = new Dictionary<string, OpenApiMediaType> { [mediaType] = new() } });

    private static (string, OpenApiResponse) Metadata() => Ok("The exact stored bytes of the signed metadata file.", "application/json");

    private static (string, OpenApiResponse) PublicKey() =>
        Ok("The public key: {\"keytype\":\"ecdsa|ed25519\",\"keyval\":{\"public\":base64,\"private\":null}}.", "application/json");

    private static (string, OpenApiResponse) Changes() =>
        Ok("{\"count\":n,\"records\":[{\"ID\":\"1\",\"CreatedAt\":RFC 3339,\"GUN\":…,\"Version\":n,\"SHA256\":hex,\"Category\":\"update|deletion\"}]}.", "application/json");

    private static (string, OpenApiResponse) NotFound() => Error("404", "METADATA_NOT_FOUND");

    private static (string, OpenApiResponse) KeyCreationLimited() =>
        Error("429", "TOOMANYREQUESTS (the client created more keys than RateLimits:KeyCreations allows; Retry-After says when to retry)");

    private static (string, OpenApiResponse) ParameterError() => Error("400", "INVALID_PARAMETERS (records missing or not a 32-bit integer; change_id not an integer)");

    private static (string, OpenApiResponse) Error(string status, string codes) =>
        (status, new OpenApiResponse
        {
            Description = "Notary error envelope: " + codes + ".",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = new OpenApiSchemaReference(ErrorSchema) },
            },
        });

    private static OpenApiSchema ErrorEnvelope() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "{\"errors\":[{\"code\",\"message\",\"detail\"}]} followed by a newline; detail is omitted when empty.",
        Required = new HashSet<string> { "errors" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Array,
                Items = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { "code", "message" },
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "e.g. METADATA_NOT_FOUND, INVALID_UPDATE, VERSION." },
                        ["message"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Fixed text of the code." },
                        ["detail"] = new OpenApiSchema { Description = "Code-specific: a string, {} or a serialized validation error." },
                    },
                },
            },
        },
    };
}
