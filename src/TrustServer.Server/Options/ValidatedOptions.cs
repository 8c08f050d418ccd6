using Microsoft.Extensions.Options;

namespace TrustServer.Server.Options;

/// <summary>
/// How the server's features bind their options: each section once, through the options system, with data
/// annotations and the feature's own rules, validated at start (DESIGN.md §6). The options classes live next to
/// their features.
/// </summary>
internal static class ValidatedOptions
{
    /// <summary>Binds <paramref name="section"/> to <typeparamref name="T"/>, validated (annotations + <paramref name="rules"/>) at start.</summary>
    public static IServiceCollection AddValidatedOptions<T>(
        this IServiceCollection services, string section, Func<OptionsBuilder<T>, OptionsBuilder<T>>? rules = null)
        where T : class
    {
        var options = services.AddOptions<T>().BindConfiguration(section).ValidateDataAnnotations();
        (rules?.Invoke(options) ?? options).ValidateOnStart();
        return services;
    }

    /// <summary>
    /// For a choice that must be made while registering (which services exist at all): registers the options as
    /// <see cref="AddValidatedOptions"/> does and returns them bound and validated now with the same rules, so that
    /// the choice and <see cref="IOptions{TOptions}"/> agree. Throws <see cref="OptionsValidationException"/>.
    /// <paramref name="rules"/> must not depend on other options.
    /// </summary>
    public static T GetValidatedOptions<T>(
        this WebApplicationBuilder builder, string section, Func<OptionsBuilder<T>, OptionsBuilder<T>>? rules = null)
        where T : class
    {
        builder.Services.AddValidatedOptions(section, rules);
        var probe = new ServiceCollection().AddSingleton<IConfiguration>(builder.Configuration).AddValidatedOptions(section, rules);
        using var provider = probe.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<T>>().Value;
    }

    /// <summary>
    /// Resolves a service that loads configured files (TLS material, token certificates) so that an unreadable or
    /// invalid file stops the start as a <see cref="ServerConfigurationException"/>.
    /// </summary>
    public static T ResolveConfigured<T>(this IServiceProvider services)
        where T : notnull
    {
        try
        {
            return services.GetRequiredService<T>();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or InvalidOperationException or ArgumentException)
        {
            throw new ServerConfigurationException(ex.Message, ex);
        }
    }

    /// <summary>
    /// Validates every option registered with <c>ValidateOnStart</c> now, before anything touches a database;
    /// throws <see cref="OptionsValidationException"/> with all the problems.
    /// </summary>
    public static void ValidateOptions(this IServiceProvider services)
    {
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            var failures = ex.InnerExceptions.Cast<OptionsValidationException>().ToList();
            throw new OptionsValidationException(failures[0].OptionsName, failures[0].OptionsType, failures.SelectMany(f => f.Failures));
        }
    }

    /// <summary>The one line printed for a configuration problem at start (no stack trace).</summary>
    public static string ErrorLine(Exception exception) =>
        "TrustServer: configuration error: " + string.Join(' ', exception.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>A configured file or value the server cannot use; stops the start with its message.</summary>
internal sealed class ServerConfigurationException(string message, Exception? innerException = null) : Exception(message, innerException);
