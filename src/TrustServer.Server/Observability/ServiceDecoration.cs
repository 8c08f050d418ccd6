namespace TrustServer.Server.Observability;

/// <summary>Decorators over registered services, without a container library.</summary>
internal static class ServiceDecoration
{
    /// <summary>
    /// Replaces the last registration of <typeparamref name="TService"/> by <paramref name="decorate"/> applied to
    /// what that registration provides, with the same lifetime. Registrations made later are not decorated.
    /// </summary>
    public static IServiceCollection Decorate<TService>(this IServiceCollection services, Func<TService, IServiceProvider, TService> decorate)
        where TService : class
    {
        var index = services.Count - 1;
        while (index >= 0 && (services[index].ServiceType != typeof(TService) || services[index].IsKeyedService))
        {
            index--;
        }

        if (index < 0)
        {
            throw new InvalidOperationException($"{typeof(TService).Name} is not registered; nothing to decorate");
        }

        var inner = services[index];
        services[index] = ServiceDescriptor.Describe(typeof(TService), sp => decorate((TService)Create(inner, sp), sp), inner.Lifetime);
        return services;
    }

    private static object Create(ServiceDescriptor registration, IServiceProvider services) =>
        registration.ImplementationInstance
        ?? registration.ImplementationFactory?.Invoke(services)
        ?? ActivatorUtilities.CreateInstance(services, registration.ImplementationType!);
}
