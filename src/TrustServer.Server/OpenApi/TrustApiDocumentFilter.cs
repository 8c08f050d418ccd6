using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;
using TrustServer.Server.Trust;

namespace TrustServer.Server.OpenApi;

/// <summary>
/// Completes the trust query operations (<c>/api/trust/v1</c>): both 200 forms of <c>GET /targets</c> (one name, or a
/// page of names), the access they need, and examples of requests and answers.
/// </summary>
internal sealed class TrustApiDocumentFilter : IDocumentFilter
{
    private const string Access = "With token auth: requires `repository:<gun>:pull`; otherwise 401 with a Bearer challenge (RFC 7807 body).";

    private static readonly JsonNode Entry = JsonNode.Parse("""
        {"role":"targets/releases","digests":{"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},"length":1337,"custom":null,
         "keyIds":["0ed1b7a1b1d33ab6e2bc5f4e7e8d0f79c3b2c1d8b4a8e2f6c8d4b1a3e5f7c9d1"],"threshold":1,"paths":[""],"version":3,
         "expires":"2029-12-02T12:00:00+00:00","trusted":true,"excluded":null}
        """)!;

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        var single = context.SchemaGenerator.GenerateSchema(typeof(TargetSigners), context.SchemaRepository);
        var paged = context.SchemaGenerator.GenerateSchema(typeof(SignedTargetsPage), context.SchemaRepository);
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = "Trust", Description = "Trust queries for registries and admission controllers, computed by the TUF core from the current chain as the notary client walks it." });
        foreach (var (path, item) in document.Paths)
        {
            if (!path.StartsWith("/api/trust/v1/", StringComparison.Ordinal) || item.Operations is null)
            {
                continue;
            }

            foreach (var (_, operation) in item.Operations)
            {
                operation.Description = (operation.Description ?? string.Empty) + Access;
                foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
                {
                    // Read as strings so that a bad value gets a problem body; documented as what they must be.
                    (parameter.Description, parameter.Schema) = parameter.Name switch
                    {
                        "gun" => ("The repository (required).", parameter.Schema),
                        "name" => ("A target name (tag): the signers of that name. Without it, every signed name, paged.", parameter.Schema),
                        "page" => ("Page of names, from 1 (without name only).", new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Default = 1 }),
                        "pageSize" => ("Names per page, 1–500 (without name only).", new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = "500", Default = 100 }),
                        _ => (parameter.Description, parameter.Schema),
                    };
                    parameter.Required = parameter.Name == "gun";
                }

                if (operation.OperationId == "GetTrustedTargets")
                {
                    Ok(operation).Schema = new OpenApiSchema { OneOf = [single, paged] };
                    Ok(operation).Examples = new Dictionary<string, IOpenApiExample>
                    {
                        ["name"] = new OpenApiExample
                        {
                            Summary = "GET /api/trust/v1/targets?gun=registry.example.com/app&name=v1",
                            Value = new JsonObject { ["gun"] = "registry.example.com/app", ["name"] = "v1", ["lookup"] = Entry.DeepClone(), ["signers"] = new JsonArray(Entry.DeepClone()), ["untrusted"] = null },
                        },
                        ["page"] = new OpenApiExample
                        {
                            Summary = "GET /api/trust/v1/targets?gun=registry.example.com/app&page=1&pageSize=100",
                            Value = new JsonObject
                            {
                                ["gun"] = "registry.example.com/app",
                                ["items"] = new JsonArray(new JsonObject { ["name"] = "v1", ["lookup"] = Entry.DeepClone(), ["signers"] = new JsonArray(Entry.DeepClone()) }),
                                ["page"] = 1, ["pageSize"] = 100, ["total"] = 1, ["untrusted"] = null,
                            },
                        },
                    };
                }
                else if (operation.OperationId == "VerifyTarget")
                {
                    if (operation.RequestBody?.Content is { } content && content.TryGetValue("application/json", out var body))
                    {
                        ((OpenApiMediaType)body).Example = JsonNode.Parse("""
                            {"gun":"registry.example.com/app","name":"v1","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                             "requiredRoles":["targets/releases","targets/alice"],"threshold":2}
                            """);
                    }

                    Ok(operation).Example = JsonNode.Parse("""
                        {"verified":false,"digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","signedBy":["targets/releases"],
                         "reasons":[{"code":"required-signer-missing","role":"targets/alice","message":"required role targets/alice does not sign v1"},
                                    {"code":"threshold-not-met","role":null,"message":"1 trusted role(s) sign v1 at sha256:9f86…, 2 required"}]}
                        """);
                }
            }
        }
    }

    private static OpenApiMediaType Ok(OpenApiOperation operation) =>
        (OpenApiMediaType)operation.Responses!["200"].Content!["application/json"];
}
