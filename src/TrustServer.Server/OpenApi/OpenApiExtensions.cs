using Microsoft.OpenApi;
using TrustServer.Server.Notary;

namespace TrustServer.Server.OpenApi;

/// <summary>The OpenAPI document (<c>/swagger/v1/swagger.json</c> and <c>.yaml</c>; <c>openapi.yaml</c> at the repo root is its committed copy) and Swagger UI at <c>/swagger</c>.</summary>
internal static class OpenApiExtensions
{
    public const string DocumentName = "v1";

    public static WebApplicationBuilder AddApiDocumentation(this WebApplicationBuilder builder)
    {
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc(DocumentName, new OpenApiInfo
            {
                Title = "TrustServer",
                Version = DocumentName,
                Description = "A Notary v1 server: the Notary protocol (as notary-server 0.7.0), the admin API and health/metrics endpoints.",
            });
            options.DocumentFilter<NotaryApiDocumentFilter>();
            options.DocumentFilter<TrustApiDocumentFilter>();
            options.DocumentFilter<ApiAccessDocumentFilter>();
            options.CustomOperationIds(api => api.ActionDescriptor.EndpointMetadata.OfType<IEndpointNameMetadata>().FirstOrDefault()?.EndpointName);
        });
        return builder;
    }

    // Only requests under /swagger enter the Swagger middlewares: in front of every request they cost ~3 % of a
    // cached metadata GET (path template matching and a generator resolved from DI per request).
    public static WebApplication UseApiDocumentation(this WebApplication app)
    {
        app.UseWhen(
            static context => context.Request.Path.StartsWithSegments("/swagger"),
            static branch =>
            {
                branch.UseSwagger();
                branch.UseSwaggerUI(options =>
                {
                    options.SwaggerEndpoint($"/swagger/{DocumentName}/swagger.json", "TrustServer v1");
                    options.DocumentTitle = "TrustServer API";
                });
            });
        return app;
    }
}
