using System.Text.Json.Nodes;
using TrustServer.Data;
using TrustServer.Server.Notary;
using TrustServer.Signing;

namespace TrustServer.Server.Observability;

/// <summary>
/// Kubernetes-style probes next to Notary's own <c>/_notary_server/health</c>: liveness, and readiness that
/// reports reads (database) and writes (database and signer) separately, so that a replica whose signer is down
/// keeps serving metadata while it says that it cannot take updates. While the database is unreachable, reads are
/// <c>degraded</c> (still 200) when the read cache serves what it holds (stale-if-error), so load balancers keep
/// the replica; writes are not ready. When repositories are due for re-signing and the background re-signer cannot
/// renew them (signer unreachable), reads are <c>degraded</c> too — clients are served metadata that is about to
/// expire — and <c>repositoriesAtRisk</c> says how many (reported by the replica that does the re-signing).
/// </summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/healthz").WithTags("Health");
        group.MapGet("/live", () => TypedResults.Json(new JsonObject { ["status"] = "live" }))
            .WithSummary("Liveness: the process answers.");
        group.MapGet("/ready", ReadyAsync)
            .WithSummary("Readiness: 200 while reads can be served (database reachable: ready; unreachable but cached metadata is served, or repositories due for re-signing cannot be renewed: degraded), 503 otherwise; writes are ready when database and signer are reachable.");
        return endpoints;
    }

    private static async Task<IResult> ReadyAsync(
        IMetadataStore store, MetadataReadCache cache, ResignerStatus resigner, IServiceProvider services, CancellationToken cancellationToken)
    {
        var database = await store.IsOperationalAsync(cancellationToken) ? null : "the metadata database is not reachable or not migrated";
        var signer = services.GetService<ISignerHealth>() is { } health ? await health.CheckHealthAsync(cancellationToken) : null;
        var atRisk = resigner.AtRisk;
        var renewals = atRisk == 0 ? null : $"{atRisk} repositories due for re-signing could not be renewed: {resigner.Reason}";
        var reads = database is null ? renewals is null ? "ready" : "degraded" : cache.ServesStaleIfError ? "degraded" : "not ready";
        var body = new JsonObject
        {
            ["reads"] = reads,
            ["writes"] = database is null && signer is null ? "ready" : "not ready",
            ["repositoriesAtRisk"] = atRisk,
            ["checks"] = new JsonObject { ["database"] = database ?? "ok", ["signer"] = signer ?? "ok", ["renewals"] = renewals ?? "ok" },
        };
        return TypedResults.Json(body, statusCode: reads == "not ready" ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }
}
