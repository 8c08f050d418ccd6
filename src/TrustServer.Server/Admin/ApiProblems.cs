using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using TrustServer.Data;
using TrustServer.Server.Auth;
using TrustServer.Server.Observability;

namespace TrustServer.Server.Admin;

/// <summary>
/// Every error under <c>/api/</c> is an RFC 7807 problem (<c>application/problem+json</c> with type, title, status and
/// detail), in every environment: the handlers' own problems, parameter binding failures (a non-numeric <c>page</c>),
/// unknown paths (404), wrong methods (405), failures (500, details in the log only), and the token check's 401/403
/// (<see cref="Auth.CatalogAccessFilter"/>). Notary routes keep the Notary envelope: these middlewares run for
/// <c>/api</c> only.
/// </summary>
internal static class ApiProblems
{
    /// <summary>The URL prefix the problem-details handling covers.</summary>
    public const string Prefix = "/api";

    public static WebApplicationBuilder AddApiProblems(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();

        // Binding failures throw BadHttpRequestException in every environment (Production's default is an empty 400),
        // which ApiExceptionHandler answers with the parameter that failed. Only the admin API binds parameters.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        return builder;
    }

    /// <summary>Exception handler and status code pages for <c>/api</c>, inside Development's developer exception page.</summary>
    public static WebApplication UseApiProblems(this WebApplication app)
    {
        app.UseWhen(
            static context => context.Request.Path.StartsWithSegments(Prefix),
            static branch =>
            {
                branch.UseExceptionHandler();
                branch.UseStatusCodePages();
            });
        return app;
    }

    /// <summary>
    /// Unknown <c>/api</c> paths: 405 with <c>Allow</c> when another method of the path exists, else 404 (rather than
    /// the Notary catch-all's envelope).
    /// </summary>
    public static RouteHandlerBuilder MapApiFallback(this IEndpointRouteBuilder endpoints) =>
        endpoints.Map(Prefix + "/{**rest}", NotFoundOrMethodNotAllowed).ExcludeFromDescription();

    /// <summary>
    /// The token check of an <c>/api</c> route: null when the request's token grants <paramref name="required"/> (or
    /// token auth is off); else the challenge as a problem, with the Notary routes' <c>WWW-Authenticate</c> header: 401
    /// without a valid token, 403 (RFC 6750 <c>insufficient_scope</c>) when the token lacks the access.
    /// </summary>
    public static async Task<IResult?> AuthorizeAsync(NotaryAuthorization? authorization, HttpContext context, IReadOnlyList<AccessItem> required)
    {
        if (authorization is null)
        {
            return null;
        }

        switch (await authorization.AuthorizeAsync(context, required))
        {
            case null:
                return null;
            case NotaryAuthorization.ChallengeResult challenge:
                context.Response.Headers.WWWAuthenticate = challenge.Header;
                return challenge.Error == "insufficient_scope"
                    ? Problem(StatusCodes.Status403Forbidden, "Insufficient scope", $"The token does not grant {Scopes.Format(required)}.")
                    : Problem(
                        StatusCodes.Status401Unauthorized,
                        "Authentication required",
                        $"A bearer token granting {Scopes.Format(required)} is required, from the token service the WWW-Authenticate challenge names.");
            case var other:
                return other;
        }
    }

    /// <summary>A problem result with the given status, title and detail.</summary>
    public static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    // The admin routes are literal paths, so comparing templates with the path finds the methods it answers.
    private static ProblemHttpResult NotFoundOrMethodNotAllowed(HttpContext context, EndpointDataSource endpoints)
    {
        var path = context.Request.Path.Value!.TrimEnd('/');
        var allowed = endpoints.Endpoints.OfType<RouteEndpoint>()
            .Where(e => string.Equals(e.RoutePattern.RawText?.TrimEnd('/'), path, StringComparison.OrdinalIgnoreCase))
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (allowed.Count > 0)
        {
            context.Response.Headers.Allow = string.Join(", ", allowed);
            return Problem(StatusCodes.Status405MethodNotAllowed, "Method not allowed", $"{path} answers {string.Join(", ", allowed)} only.");
        }

        return Problem(StatusCodes.Status404NotFound, "Not found", $"There is no API resource at {path}; the admin API is under /api/admin/v1 (see /swagger).");
    }
}

/// <summary>
/// Turns exceptions under <c>/api</c> into problems: a binding failure (<see cref="BadHttpRequestException"/>) is a 400
/// naming the parameter; anything else is logged and answered 500 without its message (it may name internals).
/// </summary>
internal sealed partial class ApiExceptionHandler(IProblemDetailsService problems, TrustServerMetrics metrics, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    /// <inheritdoc/>
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem;
        if (exception is BadHttpRequestException bad)
        {
            problem = new ProblemDetails { Status = bad.StatusCode, Title = "Invalid parameter", Detail = bad.Message };
        }
        else
        {
            LogFailed(logger, httpContext.Request.Path.Value ?? string.Empty, exception);
            if (StorageErrors.IsDatabaseFailure(exception))
            {
                metrics.DatabaseErrors.Inc();
            }

            problem = new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Internal error",
                Detail = $"The request failed; the server log has the cause (request id {httpContext.TraceIdentifier}).",
            };
        }

        // The middleware cleared the endpoint; put it back so that logs and metrics name the route.
        if (httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint is { } endpoint)
        {
            httpContext.SetEndpoint(endpoint);
        }

        httpContext.Response.StatusCode = problem.Status.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    [LoggerMessage(EventId = 1650, Level = LogLevel.Error, Message = "Admin API request {Path} failed")]
    private static partial void LogFailed(ILogger logger, string path, Exception exception);
}
