using System.Text.RegularExpressions;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace Cluster.Deploy.Tests;

/// <summary>
/// The environment a container starts with, resolved the way the kubelet does it: <c>envFrom</c> first, then <c>env</c>
/// in order, with <c>$(NAME)</c> expanded from the variables defined before it. Values from the downward API are stand-ins
/// (<see cref="PodIp"/>, <see cref="PodName"/>); Secrets the overlay does not render must be <see cref="ExternalSecrets"/>.
/// Every reference that does not resolve is a <see cref="Problems">problem</see>.
/// </summary>
internal sealed partial class ContainerEnvironment
{
    public const string PodIp = "10.244.1.17";

    public const string PodName = "cluster-silo-7d9c6b5f4-x2x8q";

    public const string PodNamespace = "cluster";

    /// <summary>
    /// Secrets an SRE creates before applying an overlay (docs/operations.md, "Deploy"), by name, with their keys and a
    /// stand-in value for each. Any other Secret a manifest refers to must be part of the rendered overlay.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ExternalSecrets =
        new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["cluster-database"] = new Dictionary<string, string>
            {
                ["connection-string"] = "Host=postgres.example.internal;Username=cluster;Password=secret;Database=cluster;SSL Mode=VerifyFull",
            },
            ["cluster-verification"] = new Dictionary<string, string>
            {
                ["webhook-url"] = "https://sms.example.com/v1/send?to={number}",
                ["bearer-token"] = "token",
            },
        };

    private ContainerEnvironment(IReadOnlyDictionary<string, string> variables, IReadOnlyDictionary<string, string> sources, IReadOnlyList<string> problems)
    {
        Variables = variables;
        Sources = sources;
        Problems = problems;
    }

    /// <summary>Name to value, as the process sees it.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; }

    /// <summary>Name to where the value came from: <c>configMap:NAME</c>, <c>secret:NAME/KEY</c>, <c>field:PATH</c>, <c>value</c>.</summary>
    public IReadOnlyDictionary<string, string> Sources { get; }

    /// <summary>References to ConfigMaps, Secrets or keys that do not exist.</summary>
    public IReadOnlyList<string> Problems { get; }

    public static ContainerEnvironment Resolve(Manifests manifests, V1Container container)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var where = $"{manifests}: container {container.Name}";

        foreach (var from in container.EnvFrom ?? [])
        {
            if (from.ConfigMapRef is { } mapRef)
            {
                var map = manifests.FindConfigMap(mapRef.Name);
                if (map is null)
                {
                    problems.Add($"{where}: envFrom ConfigMap {mapRef.Name} does not exist");
                    continue;
                }

                foreach (var (key, value) in map.Data ?? new Dictionary<string, string>())
                {
                    variables[from.Prefix + key] = value;
                    sources[from.Prefix + key] = $"configMap:{mapRef.Name}";
                }
            }
            else if (from.SecretRef is { } secretRef)
            {
                problems.Add($"{where}: envFrom Secret {secretRef.Name}: name the keys one by one, so that each is checked");
            }
        }

        foreach (var env in container.Env ?? [])
        {
            if (env.ValueFrom is null)
            {
                variables[env.Name] = Expand(env.Value ?? "", variables);
                sources[env.Name] = "value";
            }
            else if (env.ValueFrom.FieldRef is { } field)
            {
                variables[env.Name] = field.FieldPath switch
                {
                    "status.podIP" => PodIp,
                    "metadata.name" => PodName,
                    "metadata.namespace" => PodNamespace,
                    var path => $"<{path}>",
                };
                sources[env.Name] = $"field:{field.FieldPath}";
            }
            else if (env.ValueFrom.SecretKeyRef is { } secretKey)
            {
                var value = SecretValue(manifests, secretKey.Name, secretKey.Key, out var problem);
                if (problem is not null)
                {
                    problems.Add($"{where}: env {env.Name}: {problem}");
                }

                variables[env.Name] = value ?? "";
                sources[env.Name] = $"secret:{secretKey.Name}/{secretKey.Key}";
            }
            else if (env.ValueFrom.ConfigMapKeyRef is { } mapKey)
            {
                var map = manifests.FindConfigMap(mapKey.Name);
                if (map?.Data is null || !map.Data.TryGetValue(mapKey.Key, out var value))
                {
                    problems.Add($"{where}: env {env.Name}: ConfigMap {mapKey.Name} has no key {mapKey.Key}");
                    value = "";
                }

                variables[env.Name] = value;
                sources[env.Name] = $"configMap:{mapKey.Name}/{mapKey.Key}";
            }
            else
            {
                problems.Add($"{where}: env {env.Name}: a valueFrom these checks do not know");
            }
        }

        return new ContainerEnvironment(variables, sources, problems);
    }

    /// <summary>A rendered Secret's value, or an external Secret's stand-in; null with a problem when neither exists.</summary>
    public static string? SecretValue(Manifests manifests, string name, string key, out string? problem)
    {
        problem = null;
        if (manifests.FindSecret(name) is { } secret)
        {
            var value = Manifests.SecretValue(secret, key);
            if (value is null)
            {
                problem = $"Secret {name} has no key {key}";
            }

            return value;
        }

        if (ExternalSecrets.TryGetValue(name, out var keys))
        {
            if (keys.TryGetValue(key, out var standIn))
            {
                return standIn;
            }

            problem = $"the external Secret {name} has no key {key} (docs/operations.md lists its keys)";
            return null;
        }

        problem = $"Secret {name} is neither rendered nor one an SRE creates (docs/operations.md)";
        return null;
    }

    /// <summary>The environment as the silo's configuration sees it: <c>__</c> separates sections.</summary>
    public IConfiguration ToConfiguration() => new ConfigurationBuilder()
        .AddInMemoryCollection(Variables.Select(p => new KeyValuePair<string, string?>(p.Key.Replace("__", ":", StringComparison.Ordinal), p.Value)))
        .Build();

    // The kubelet expands $(NAME) from variables defined earlier; $$ escapes; an unknown name stays as it is.
    private static string Expand(string value, Dictionary<string, string> defined) =>
        Reference().Replace(value, m => m.Value == "$$" ? "$" : defined.TryGetValue(m.Groups["name"].Value, out var v) ? v : m.Value);

    [GeneratedRegex(@"\$\$|\$\((?<name>[A-Za-z_][A-Za-z0-9_.-]*)\)")]
    private static partial Regex Reference();
}
