using System.Text.RegularExpressions;

namespace TrustServer.Server.Notary;

/// <summary>What a Notary route hands its handler: the context and the captured path groups.</summary>
internal delegate Task<IResult> NotaryHandler(HttpContext context, Match match);

/// <summary>One route of notary-server's table (spec server-api.md §1): operation name, method and path pattern.</summary>
internal sealed record NotaryRoute(string Operation, string Method, Regex Pattern, NotaryHandler Handler);

/// <summary>
/// Notary's routing: GUNs contain slashes, so ASP.NET route templates cannot express the table; routes are tried in
/// order on the decoded path, first match wins, as gorilla/mux does (spec server-api.md §1).
/// </summary>
internal static partial class NotaryRouter
{
    /// <summary><see cref="HttpContext.Items"/> key of the GUN of the matched route (for logs; never a metric label).</summary>
    public const string GunItem = "trustserver.gun";

    /// <summary>Methods that reach the catch-all 404; any other method is a 405 with an empty body.</summary>
    private static readonly HashSet<string> KnownMethods = new(StringComparer.Ordinal) { "GET", "POST", "PUT", "HEAD", "DELETE" };

    /// <summary>Role names at routing level: <c>root|targets(/x)*|snapshot|timestamp</c>.</summary>
    public const string RolePattern = @"(?<role>root|targets(?:/[^/\s]+)*|snapshot|timestamp)";

    /// <summary>A GUN: one or more characters other than <c>*</c>.</summary>
    public const string GunPattern = @"(?<gun>[^*]+)";

    /// <summary>Dispatches a request through <paramref name="routes"/>; unmatched requests get <paramref name="fallback"/>.</summary>
    public static async Task DispatchAsync(HttpContext context, IReadOnlyList<NotaryRoute> routes, NotaryHandler fallback)
    {
        var path = context.Request.Path.Value ?? "/";
        var clean = CleanPath(path);
        if (clean != path)
        {
            // gorilla/mux answers non-clean paths with a permanent redirect to the cleaned path.
            context.Response.StatusCode = StatusCodes.Status301MovedPermanently;
            context.Response.Headers.Location = clean + context.Request.QueryString;
            return;
        }

        var method = context.Request.Method;
        foreach (var route in routes)
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

                await RunAsync(context, route, match);
                return;
            }
        }

        if (!KnownMethods.Contains(method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        await (await fallback(context, Match.Empty)).ExecuteAsync(context);
    }

    // Anything a handler did not turn into a Notary error (e.g. the database went away) is a 500 UNKNOWN in the
    // Notary envelope, as notary-server wraps non-errcode failures; the exception goes to the log only.
    private static async Task RunAsync(HttpContext context, NotaryRoute route, Match match)
    {
        IResult result;
        try
        {
            result = await route.Handler(context, match);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            LogUnhandled(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(NotaryRouter)), route.Operation, e);
            if (e is System.Data.Common.DbException or Microsoft.EntityFrameworkCore.DbUpdateException)
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
