using System.Diagnostics;
using System.Globalization;
using Prometheus;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using TrustServer.Server.Notary;
using TrustServer.Signing;

namespace TrustServer.Server.Observability;

/// <summary>Serilog logs, request logging and Prometheus metrics (issue: admin surface and observability).</summary>
internal static class ObservabilityExtensions
{
    private static readonly HashSet<string> MetricMethods = new(StringComparer.Ordinal) { "GET", "POST", "PUT", "HEAD", "DELETE" };

    /// <summary>
    /// Serilog: compact JSON to stdout, readable text in Development; levels from <c>Serilog:MinimumLevel</c>
    /// (defaults: Information, ASP.NET Core and EF Core at Warning); the <see cref="TrustServerMetrics"/> singleton.
    /// </summary>
    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        // Serilog writes the console itself; providers registered by the host (e.g. tests) still receive events.
        // Each host keeps its own logger (not the static Log.Logger): with several hosts in one process (tests), the
        // static one would send every host's events to the providers of the host built last.
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(ConfigureLogger, preserveStaticLogger: true, writeToProviders: true);
        TrustServerMetrics.SuppressRuntimeAdapters();
        builder.Services.AddSingleton<TrustServerMetrics>();
        return builder;
    }

    private static void ConfigureLogger(IServiceProvider services, LoggerConfiguration logger)
    {
        var configuration = services.GetRequiredService<IConfiguration>();
        logger.MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
            .ReadFrom.Configuration(configuration)
            .ReadFrom.Services(services)
            .Enrich.FromLogContext();
        if (configuration.GetSection("Serilog:WriteTo").Exists())
        {
            return;
        }

        if (ConsoleIsText(services))
        {
            logger.WriteTo.Console(formatProvider: CultureInfo.InvariantCulture);
        }
        else
        {
            logger.WriteTo.Console(new CompactJsonFormatter());
        }
    }

    /// <summary>
    /// Whether stdout is for people (readable text logs: Development without <c>Serilog:WriteTo</c>); otherwise every
    /// line on stdout must be a JSON log event, and nothing may be printed there but through the logger.
    /// </summary>
    public static bool ConsoleIsText(IServiceProvider services) =>
        services.GetRequiredService<IHostEnvironment>().IsDevelopment()
        && !services.GetRequiredService<IConfiguration>().GetSection("Serilog:WriteTo").Exists();

    /// <summary>Decorates the registered <see cref="ISigningService"/> with <see cref="MeteredSigningService"/>.</summary>
    public static IServiceCollection AddSigningMetrics(this IServiceCollection services) =>
        services.Decorate<ISigningService>((inner, sp) => new MeteredSigningService(inner, sp.GetRequiredService<TrustServerMetrics>()));

    /// <summary>Request logging (route, status, duration, GUN, role — never headers) and request metrics; <c>/metrics</c>.</summary>
    public static WebApplication UseObservability(this WebApplication app)
    {
        app.UseSerilogRequestLogging(options =>
        {
            // This host's logger: without it the middleware writes to the static Log.Logger, which is silent here.
            options.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            options.MessageTemplate = "HTTP {RequestMethod} {Route} {Gun} {Role} responded {StatusCode} in {Elapsed:0.000} ms";
            options.EnrichDiagnosticContext = (diagnostics, context) =>
            {
                diagnostics.Set("Route", RouteOf(context));
                diagnostics.Set("Gun", context.Items[NotaryRouter.GunItem] as string ?? string.Empty);
                diagnostics.Set("Role", context.Items[NotaryRouter.RoleItem] as string ?? string.Empty);
            };
        });
        var metrics = app.Services.GetRequiredService<TrustServerMetrics>();
        app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                var route = RouteOf(context);
                var method = MetricMethods.Contains(context.Request.Method) ? context.Request.Method : "OTHER";
                metrics.Requests.WithLabels(route, method, context.Response.StatusCode.ToString(CultureInfo.InvariantCulture)).Inc();
                metrics.RequestDuration.WithLabels(route).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
        });
        app.MapMetrics("/metrics");
        return app;
    }

    // The Notary operation when a Notary route matched, else the endpoint's template; never the raw path.
    private static string RouteOf(HttpContext context) =>
        (context.Items[typeof(NotaryRoute)] as NotaryRoute)?.Operation
        ?? (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText switch
        {
            null when context.Request.Path.StartsWithSegments("/swagger") => "/swagger",
            null or "/{**path}" or "/api/{**rest}" => "unmatched",
            var template => template,
        };
}
