using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;
using TrustServer.Server.Auth;

namespace TrustServer.Server.OpenApi;

/// <summary>
/// What Swagger UI needs to call the API under token auth, and examples: the <c>bearer</c> scheme (Swagger UI's
/// Authorize button) on every operation that needs a token, the <c>basic</c> scheme and the built-in issuer's
/// <c>GET</c> token operation (so that a token can be fetched from the UI), and request/response examples of the
/// Notary and admin operations (<see cref="ApiExamples"/>). Runs after <see cref="NotaryApiDocumentFilter"/>.
/// </summary>
internal sealed class ApiAccessDocumentFilter(IOptions<TokenIssuerOptions> issuer, IOptions<TokenAuthOptions> token) : IDocumentFilter
{
    /// <summary>The bearer scheme's name in <c>components.securitySchemes</c>.</summary>
    public const string Bearer = "bearer";

    private const string Basic = "basic";
    private const string AdminPrefix = "/api/admin/v1/";
    private const string CatalogAccess = "With token auth (`Auth:Mode=Token`): requires a token granting `registry:catalog:*`; otherwise 401 (no or invalid token) or 403 (scope missing), with the Bearer challenge in `WWW-Authenticate`.";

    /// <summary>A security requirement of the bearer scheme, for <paramref name="document"/>.</summary>
    public static OpenApiSecurityRequirement BearerRequirement(OpenApiDocument document) => new() { [new OpenApiSecuritySchemeReference(Bearer, document)] = [] };

    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A Docker registry token (only with `Auth:Mode=Token`). From the built-in issuer: authorize `basic` with an `Auth:Issuer:Users` user, call `GetToken` with the scope the operation names (e.g. `registry:catalog:*` for the admin API, `repository:<gun>:pull` for Notary reads), and paste its `token` here.",
        };
        document.Components.SecuritySchemes[Basic] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "basic",
            Description = "A user of the built-in token issuer (`Auth:Issuer:Users`); used by `GetToken` only.",
        };

        foreach (var (path, item) in document.Paths)
        {
            foreach (var (_, operation) in item.Operations ?? [])
            {
                if (path.StartsWith(AdminPrefix, StringComparison.Ordinal))
                {
                    operation.Security = [BearerRequirement(document)];
                    operation.Description = operation.Description is null ? CatalogAccess : operation.Description + "\n\n" + CatalogAccess;
                }

                if (operation.OperationId is { } id)
                {
                    ApiExamples.Apply(id, operation);
                }
            }
        }

        AddTokenOperation(document);
    }

    // The issuer is mapped only with Auth:Issuer:Enabled; it is documented at its configured path in any case.
    private void AddTokenOperation(OpenApiDocument document)
    {
        var service = token.Value.Service is { Length: > 0 } s ? s : "notary-server";
        var operation = new OpenApiOperation
        {
            OperationId = "GetToken",
            Summary = "A registry token from the built-in issuer (only with Auth:Issuer:Enabled=true).",
            Description = "Docker's token protocol, as `docker login` and the notary client use it. With basic credentials of an `Auth:Issuer:Users` user (none: anonymous, `Auth:Issuer:AnonymousGrants`), grants the requested scopes the user holds. The answer's `token` is what the `bearer` scheme (Authorize) takes. Wrong credentials: 401 with a Basic challenge; too many failures: 429 with Retry-After.",
            Tags = new HashSet<OpenApiTagReference> { new("Auth", document) },
            Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Basic, document)] = [] }, new OpenApiSecurityRequirement()],
            Parameters =
            [
                new OpenApiParameter
                {
                    Name = "service", In = ParameterLocation.Query, Description = "The token service (`Auth:Token:Service`).",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String }, Example = JsonValue.Create(service),
                },
                new OpenApiParameter
                {
                    Name = "scope", In = ParameterLocation.Query,
                    Description = "`type:name:actions`, e.g. `registry:catalog:*` (admin API, global changefeed) or `repository:example.com/app:pull,push`; several separated by spaces or repeated.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String }, Example = JsonValue.Create("registry:catalog:*"),
                },
            ],
            Responses = new OpenApiResponses
            {
                ["200"] = new OpenApiResponse
                {
                    Description = "The token.",
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/json"] = new() { Example = JsonNode.Parse("""{"token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsIng1YyI6WyIuLi4iXX0.eyJpc3MiOiIuLi4ifQ.c2ln","access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsIng1YyI6WyIuLi4iXX0.eyJpc3MiOiIuLi4ifQ.c2ln","expires_in":300,"issued_at":"2026-12-01T12:00:00Z"}""") },
                    },
                },
                ["400"] = IssuerError("INVALID_SERVICE (another service) or NAME_INVALID (a scope's name is not a repository name)."),
                ["401"] = IssuerError("UNAUTHORIZED: wrong user or password."),
                ["429"] = IssuerError("TOOMANYREQUESTS: too many failed logins; Retry-After says when to retry."),
            },
        };
        var item = new OpenApiPathItem();
        item.AddOperation(HttpMethod.Get, operation);
        document.Paths[issuer.Value.Path] = item;
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = "Auth", Description = "The built-in Docker token issuer (`Auth:Issuer`)." });
    }

    private static OpenApiResponse IssuerError(string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new() { Example = JsonNode.Parse("""{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}""") },
        },
    };
}
