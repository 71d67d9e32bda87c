using k8s;
using k8s.Models;

namespace Cluster.Deploy.Tests;

/// <summary>
/// One rendered overlay, every document loaded strictly into KubernetesClient's typed models: a field the API does not
/// have (a typo, a wrong level of indentation) fails the load instead of being dropped.
/// </summary>
internal sealed class Manifests
{
    /// <summary>The custom resources the manifests may use, beside every built-in kind KubernetesClient knows.</summary>
    private static readonly Dictionary<string, Type> CustomKinds = new()
    {
        ["monitoring.coreos.com/v1/ServiceMonitor"] = typeof(ServiceMonitor),
    };

    private Manifests(string name, string yaml, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> objects)
    {
        Name = name;
        Yaml = yaml;
        Objects = objects;
    }

    public string Name { get; }

    public string Yaml { get; }

    public IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Objects { get; }

    /// <summary>Loads every document of <paramref name="yaml"/>; throws on an unknown kind or field.</summary>
    public static Manifests Load(string name, string yaml)
    {
        var objects = KubernetesYaml.LoadAllFromString(yaml, CustomKinds, strict: true)
            .Select(o => o as IKubernetesObject<V1ObjectMeta> ?? throw new InvalidOperationException($"{o.GetType()} has no metadata"))
            .ToList();
        return new Manifests(name, yaml, objects);
    }

    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    public T Single<T>(string name)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var matches = All<T>().Where(o => o.Metadata.Name == name).ToList();
        Assert.True(matches.Count == 1, $"{Name}: expected one {typeof(T).Name} named {name}, found {matches.Count}");
        return matches[0];
    }

    public V1Deployment Silos => Single<V1Deployment>("cluster-silo");

    public V1Job MigrateJob => Single<V1Job>("cluster-migrate");

    /// <summary>Every pod template: Deployments, StatefulSets and Jobs.</summary>
    public IEnumerable<Workload> Workloads =>
        All<V1Deployment>().Select(d => new Workload(d.Kind, d.Metadata.Name, d.Spec.Template))
            .Concat(All<V1StatefulSet>().Select(s => new Workload(s.Kind, s.Metadata.Name, s.Spec.Template)))
            .Concat(All<V1Job>().Select(j => new Workload(j.Kind, j.Metadata.Name, j.Spec.Template)));

    /// <summary>The pod templates whose labels <paramref name="selector"/> selects.</summary>
    public IEnumerable<Workload> Selected(V1LabelSelector selector) => Workloads.Where(w => Labels.Matches(selector, w.Template.Metadata.Labels));

    public V1Secret? FindSecret(string name) => All<V1Secret>().SingleOrDefault(s => s.Metadata.Name == name);

    public V1ConfigMap? FindConfigMap(string name) => All<V1ConfigMap>().SingleOrDefault(c => c.Metadata.Name == name);

    /// <summary>The value of a rendered Secret's key, whether it is in <c>data</c> (base64) or <c>stringData</c>.</summary>
    public static string? SecretValue(V1Secret secret, string key)
    {
        if (secret.Data is { } data && data.TryGetValue(key, out var bytes))
        {
            // KubernetesClient's YAML loader has already decoded the base64.
            return System.Text.Encoding.UTF8.GetString(bytes);
        }

        return secret.StringData is { } stringData && stringData.TryGetValue(key, out var value) ? value : null;
    }

    public override string ToString() => Name;
}

/// <summary>A pod template and the object that owns it.</summary>
internal sealed record Workload(string Kind, string Name, V1PodTemplateSpec Template)
{
    public V1PodSpec Pod => Template.Spec;

    /// <summary>Init containers first, then the containers.</summary>
    public IEnumerable<V1Container> AllContainers => (Pod.InitContainers ?? []).Concat(Pod.Containers);

    public override string ToString() => $"{Kind}/{Name}";
}

/// <summary>Label selectors as the API server evaluates them.</summary>
internal static class Labels
{
    public static bool Matches(V1LabelSelector selector, IDictionary<string, string>? labels)
    {
        labels ??= new Dictionary<string, string>();
        if ((selector.MatchLabels?.Count ?? 0) == 0 && (selector.MatchExpressions?.Count ?? 0) == 0)
        {
            return true;
        }

        var byLabel = selector.MatchLabels?.All(p => labels.TryGetValue(p.Key, out var v) && v == p.Value) ?? true;
        var byExpression = selector.MatchExpressions?.All(e => e.OperatorProperty switch
        {
            "In" => labels.TryGetValue(e.Key, out var v) && e.Values.Contains(v),
            "NotIn" => !labels.TryGetValue(e.Key, out var v) || !e.Values.Contains(v),
            "Exists" => labels.ContainsKey(e.Key),
            "DoesNotExist" => !labels.ContainsKey(e.Key),
            _ => throw new InvalidOperationException($"unknown selector operator {e.OperatorProperty}"),
        }) ?? true;
        return byLabel && byExpression;
    }

    public static bool Matches(IDictionary<string, string> selector, IDictionary<string, string>? labels) =>
        Matches(new V1LabelSelector { MatchLabels = selector }, labels);
}

/// <summary>The Prometheus Operator's ServiceMonitor, as far as the manifests use it (strict loading rejects the rest).</summary>
internal sealed class ServiceMonitor : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";

    public string Kind { get; set; } = "";

    public V1ObjectMeta Metadata { get; set; } = new();

    public ServiceMonitorSpec Spec { get; set; } = new();
}

internal sealed class ServiceMonitorSpec
{
    public V1LabelSelector Selector { get; set; } = new();

    public List<ServiceMonitorEndpoint> Endpoints { get; set; } = [];

    public string? JobLabel { get; set; }
}

internal sealed class ServiceMonitorEndpoint
{
    public string? Port { get; set; }

    public string? Path { get; set; }

    public string? Interval { get; set; }

    public string? ScrapeTimeout { get; set; }

    public List<RelabelConfig> Relabelings { get; set; } = [];
}

internal sealed class RelabelConfig
{
    public string? Action { get; set; }

    public List<string>? SourceLabels { get; set; }

    public string? TargetLabel { get; set; }

    public string? Regex { get; set; }

    public string? Replacement { get; set; }
}
