using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Auth;
using TrustServer.Server.Options;

namespace TrustServer.Server.Notary;

/// <summary>
/// Notary's routing: GUNs contain slashes, so ASP.NET route templates cannot express the table; routes are tried in
/// order on the decoded path, first match wins, as gorilla/mux does (spec server-api.md §1). Each route runs as
/// notary-server's CreateHandler does: GUN checks → auth (with <c>Auth:Mode=Token</c>) → handler.
/// </summary>
internal sealed partial class NotaryRouter
{
    /// <summary><see cref="HttpContext.Items"/> key of the GUN of the matched route (for logs; never a metric label).</summary>
    public const string GunItem = "trustserver.gun";

    /// <summary><see cref="HttpContext.Items"/> key of the role named by the matched route's path (for logs).</summary>
    public const string RoleItem = "trustserver.role";

    /// <summary>Methods that reach the catch-all 404; any other method is a 405 with an empty body.</summary>
    private static readonly HashSet<string> KnownMethods = new(StringComparer.Ordinal) { "GET", "POST", "PUT", "HEAD", "DELETE" };

    private readonly NotaryAuthorization? _authorization;
    private readonly (NotaryRoute Route, NotaryHandler Run)[] _routes;

    /// <summary>Dispatches through <paramref name="routes"/>; with <paramref name="authorization"/> null, auth is off.</summary>
    public NotaryRouter(IReadOnlyList<NotaryRoute> routes, NotaryAuthorization? authorization)
    {
        _authorization = authorization;
        _routes = [.. routes.Select(r => (r, Guarded(r, Authorized(r))))];
    }

    /// <summary>Dispatches a request through the routes; unmatched requests get a 404 (or 405 for unknown methods).</summary>
    public async Task DispatchAsync(HttpContext context)
    {
        if (!NotaryRequestPath.TryRead(context, out var path, out var query))
        {
            // Go's server refuses a request target it cannot unescape before routing: plain text, connection closed.
            context.Response.Headers.Connection = "close";
            await new BytesResult("400 Bad Request"u8.ToArray(), "text/plain; charset=utf-8", StatusCodes.Status400BadRequest).ExecuteAsync(context);
            return;
        }

        var clean = CleanPath(path);
        if (clean != path)
        {
            // gorilla/mux answers non-clean paths (after decoding: %2E%2E and %2F count) with a permanent redirect.
            context.Response.StatusCode = StatusCodes.Status301MovedPermanently;
            context.Response.Headers.Location = NotaryRequestPath.Escape(clean) + query;
            return;
        }

        var method = context.Request.Method;
        foreach (var (route, run) in _routes)
        {
            if (route.Method != method)
            {
                continue;
            }

            var match = route.Pattern.Match(path);
            if (match.Success)
            {
                context.Items[typeof(NotaryRoute)] = route;
                if (match.Groups["gun"].Success)
                {
                    context.Items[GunItem] = match.Groups["gun"].Value;
                }

                if (match.Groups["role"].Success)
                {
                    context.Items[RoleItem] = match.Groups["role"].Value;
                }

                await RunAsync(context, route.Operation, run, match);
                return;
            }
        }

        if (!KnownMethods.Contains(method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        await (await NotFoundAsync(context, path)).ExecuteAsync(context);
    }

    // Unknown URLs need the catalog scope when auth is on (route 13), except below the health path: a plain 404.
    private async Task<IResult> NotFoundAsync(HttpContext context, string path)
    {
        if (new PathString(path).StartsWithSegments("/_notary_server/health"))
        {
            return new BytesResult("404 page not found\n"u8.ToArray(), "text/plain; charset=utf-8", StatusCodes.Status404NotFound);
        }

        return (_authorization is null ? null : await _authorization.AuthorizeAsync(context, [AccessItem.Catalog])) ?? NotaryErrors.RouteNotFound();
    }

    // The auth step: the route's access (AccessItem.Required: per action on the GUN, else the catalog) or a 401 challenge.
    private NotaryHandler Authorized(NotaryRoute route)
    {
        if (_authorization is not { } authorization || route.Actions is not { } actions)
        {
            return route.Handler;
        }

        var handler = route.Handler;
        return async (context, match) =>
        {
            var gun = match.Groups["gun"] is { Success: true } g ? g.Value : null;
            return await authorization.AuthorizeAsync(context, AccessItem.Required(gun, actions)) ?? await handler(context, match);
        };
    }

    // GUN checks before auth and the handler: size and characters (U+FFFD: bytes of the path that were not UTF-8), then
    // the configured prefixes (spec server-api.md §9). Updates answer 400 INVALID_GUN, everything else 404.
    private static NotaryHandler Guarded(NotaryRoute route, NotaryHandler handler) => !route.HasGun ? handler : (context, match) =>
    {
        var gun = match.Groups["gun"].Value;
        var limits = context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
        if (Encoding.UTF8.GetByteCount(gun) > limits.MaxGunBytes || gun.Any(c => char.IsControl(c) || c == '\uFFFD'))
        {
            return Task.FromResult<IResult>(route.IsUpdate
                ? NotaryErrors.Of(NotaryErrorCode.InvalidGun, JsonValue.Create($"GUNs are at most {limits.MaxGunBytes} bytes without control characters"))
                : NotaryErrors.RouteNotFound());
        }

        var prefixes = context.RequestServices.GetRequiredService<IOptions<RepositoryOptions>>().Value.GunPrefixes;
        if (prefixes.Count > 0 && !prefixes.Any(p => gun.StartsWith(p, StringComparison.Ordinal)))
        {
            return Task.FromResult<IResult>(route.IsUpdate
                ? NotaryErrors.Of(NotaryErrorCode.InvalidGun, JsonValue.Create($"Require GUNs with prefix: [{string.Join(' ', prefixes)}]"))
                : NotaryErrors.RouteNotFound());
        }

        return handler(context, match);
    };

    // Anything a handler did not turn into a Notary error (e.g. the database went away) is a 500 UNKNOWN in the
    // Notary envelope, as notary-server wraps non-errcode failures; the exception goes to the log only.
    private static async Task RunAsync(HttpContext context, string operation, NotaryHandler run, Match match)
    {
        IResult result;
        try
        {
            result = await run(context, match);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            LogUnhandled(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(NotaryRouter)), operation, e);
            if (StorageErrors.IsDatabaseFailure(e))
            {
                context.RequestServices.GetRequiredService<Observability.TrustServerMetrics>().DatabaseErrors.Inc();
            }

            result = NotaryErrors.Of(NotaryErrorCode.Unknown);
        }

        await result.ExecuteAsync(context);
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "{Operation} failed")]
    private static partial void LogUnhandled(ILogger logger, string operation, Exception exception);

    /// <summary>Go's <c>path.Clean</c>, keeping a trailing slash (gorilla/mux <c>cleanPath</c>).</summary>
    public static string CleanPath(string path)
    {
        if (path.Length == 0)
        {
            return "/";
        }

        if (IsClean(path))
        {
            return path;
        }

        var segments = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }

                continue;
            }

            segments.Add(segment);
        }

        var clean = "/" + string.Join('/', segments);
        return path.EndsWith('/') && clean != "/" ? clean + "/" : clean;
    }

    // The common case without allocating: rooted, no empty, "." or ".." segment (a trailing slash is kept by CleanPath).
    private static bool IsClean(string path)
    {
        if (path[0] != '/')
        {
            return false;
        }

        var rest = path.AsSpan(1);
        while (true)
        {
            var slash = rest.IndexOf('/');
            var segment = slash < 0 ? rest : rest[..slash];
            if (segment is "." or "..")
            {
                return false;
            }

            if (slash < 0)
            {
                return true;
            }

            if (segment.IsEmpty)
            {
                return false;
            }

            rest = rest[(slash + 1)..];
        }
    }
}
