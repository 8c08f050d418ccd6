using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;
using TrustServer.Server.Auth;
using TrustServer.Server.Notary;

namespace TrustServer.Server.OpenApi;

/// <summary>
/// Documents the Notary v1 routes (spec server-api.md §1). They are dispatched by <c>NotaryRouter</c> rather than by
/// ASP.NET routing (GUNs contain slashes), so ApiExplorer cannot see them; this filter writes them from the route table
/// (<see cref="NotaryEndpoints.Routes"/>) in its order. Path parameters written as <c>{gun}</c> may contain slashes.
/// </summary>
internal sealed class NotaryApiDocumentFilter : IDocumentFilter
{
    private const string Tag = "Notary";
    private const string ErrorSchema = "NotaryErrors";

    // Mapped by the observability wiring, not the Notary table; documented with the Notary tag.
    private static readonly NotaryApi Metrics = new("Prometheus metrics (text exposition format).", NotaryApiResponse.Ok("Metrics.", "text/plain"));

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ErrorSchema] = ErrorEnvelope();
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = Tag, Description = "The Notary v1 protocol, byte for byte as notary-server 0.7.0 (spec server-api.md)." });

        foreach (var route in NotaryEndpoints.Routes)
        {
            Add(document, route.Path, route.Method, route.OperationId, route.Api, Access(route));
        }

        Add(document, "/metrics", "GET", "Metrics", Metrics, access: null);
    }

    // What the router's auth step requires (AccessItem.Required), e.g. "repository:<gun>:push and repository:<gun>:pull".
    private static string? Access(NotaryRoute route) =>
        route.Actions is { } actions ? string.Join(" and ", AccessItem.Required(route.HasGun ? "<gun>" : null, actions)) : null;

    private static void Add(OpenApiDocument document, string path, string method, string id, NotaryApi api, string? access)
    {
        var operation = new OpenApiOperation
        {
            OperationId = id,
            Summary = api.Description.Split(". ")[0].TrimEnd('.') + ".",
            Description = access is null ? api.Description : $"{api.Description}\n\nWith token auth: requires `{access}`; otherwise 401 with a Bearer challenge.",
            Tags = new HashSet<OpenApiTagReference> { new(Tag, document) },
            Parameters = [.. NotaryPathParameter.NamesIn(path).Select(PathParameter), .. api.Query.Select(QueryParameter)],
            Responses = [],
            RequestBody = api.Upload is null ? null : Upload(api.Upload),
            Security = access is null ? null : [ApiAccessDocumentFilter.BearerRequirement(document)],
        };
        foreach (var response in api.Responses)
        {
            operation.Responses[response.Status] = Response(response);
        }

        if (!document.Paths.TryGetValue(path, out var item))
        {
            item = new OpenApiPathItem();
            document.Paths[path] = item;
        }

        ((OpenApiPathItem)item).AddOperation(HttpMethod.Parse(method), operation);
    }

    private static IOpenApiParameter PathParameter(string name)
    {
        var parameter = NotaryPathParameter.All[name];
        var schema = new OpenApiSchema { Type = JsonSchemaType.String };
        if (parameter.Values.Length > 0)
        {
            schema.Enum = [.. parameter.Values.Select(v => JsonValue.Create(v))];
        }

        return new OpenApiParameter { Name = name, In = ParameterLocation.Path, Required = true, Description = parameter.Description, Schema = schema };
    }

    private static IOpenApiParameter QueryParameter(NotaryQueryParameter query) => new OpenApiParameter
    {
        Name = query.Name,
        In = ParameterLocation.Query,
        Required = query.Required,
        Description = query.Description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
    };

    private static OpenApiResponse Response(NotaryApiResponse response) => response switch
    {
        { IsNotaryError: true } => new OpenApiResponse
        {
            Description = "Notary error envelope: " + response.Description + ".",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = new OpenApiSchemaReference(ErrorSchema) },
            },
        },
        { MediaType: { } mediaType } => new OpenApiResponse { Description = response.Description, Content = new Dictionary<string, OpenApiMediaType> { [mediaType] = new() } },
        _ => new OpenApiResponse { Description = response.Description },
    };

    private static OpenApiRequestBody Upload(string files) => new()
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
                            Description = files,
                        },
                    },
                },
            },
        },
    };

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
