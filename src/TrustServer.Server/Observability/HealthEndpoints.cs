using System.Text.Json.Nodes;
using TrustServer.Data;
using TrustServer.Signing.Remote;

namespace TrustServer.Server.Observability;

/// <summary>
/// Kubernetes-style probes next to Notary's own <c>/_notary_server/health</c>: liveness, and readiness that
/// reports reads (database) and writes (database and signer) separately, so that a replica whose signer is down
/// keeps serving metadata while it says that it cannot take updates.
/// </summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/healthz").WithTags("Health");
        group.MapGet("/live", () => TypedResults.Json(new JsonObject { ["status"] = "live" }))
            .WithSummary("Liveness: the process answers.");
        group.MapGet("/ready", ReadyAsync)
            .WithSummary("Readiness: 200 while reads can be served (database reachable), 503 otherwise; writes are ready when the signer is reachable too.");
        return endpoints;
    }

    private static async Task<IResult> ReadyAsync(IMetadataStore store, IServiceProvider services, CancellationToken cancellationToken)
    {
        var database = await store.IsOperationalAsync(cancellationToken) ? null : "the metadata database is not reachable or not migrated";
        var signer = services.GetService<RemoteSigningService>() is { } remote ? await remote.CheckHealthAsync(cancellationToken) : null;
        var body = new JsonObject
        {
            ["reads"] = database is null ? "ready" : "not ready",
            ["writes"] = database is null && signer is null ? "ready" : "not ready",
            ["checks"] = new JsonObject { ["database"] = database ?? "ok", ["signer"] = signer ?? "ok" },
        };
        return TypedResults.Json(body, statusCode: database is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }
}
