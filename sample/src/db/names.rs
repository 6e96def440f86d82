//! Word lists the seeder draws from: places, names, companies, authorities.
//!
//! Pure data. Everything here is fictional; any resemblance of a generated
//! person or company to a real one is a coincidence of common words.

/// An administrative division the seeder places subjects in.
pub(super) struct Area {
    /// GB/T 2260 six-digit division code (the first six characters of ids).
    pub code: &'static str,
    /// Province, e.g. `湖南省`.
    pub province: &'static str,
    /// Prefecture-level city, e.g. `长沙市`.
    pub city: &'static str,
    /// County-level district, e.g. `岳麓区`.
    pub district: &'static str,
    /// One-character abbreviation used in document numbers, e.g. `长`.
    pub abbr: &'static str,
    /// Court code inside case numbers, e.g. `0104` in `(2023)湘0104执123号`.
    pub court_code: &'static str,
}

/// Divisions, weighted toward Hunan (the statutes the policy cites).
pub(super) const AREAS: &[Area] = &[
    Area {
        code: "430102",
        province: "湖南省",
        city: "长沙市",
        district: "芙蓉区",
        abbr: "长",
        court_code: "0102",
    },
    Area {
        code: "430103",
        province: "湖南省",
        city: "长沙市",
        district: "天心区",
        abbr: "长",
        court_code: "0103",
    },
    Area {
        code: "430104",
        province: "湖南省",
        city: "长沙市",
        district: "岳麓区",
        abbr: "长",
        court_code: "0104",
    },
    Area {
        code: "430105",
        province: "湖南省",
        city: "长沙市",
        district: "开福区",
        abbr: "长",
        court_code: "0105",
    },
    Area {
        code: "430111",
        province: "湖南省",
        city: "长沙市",
        district: "雨花区",
        abbr: "长",
        court_code: "0111",
    },
    Area {
        code: "430112",
        province: "湖南省",
        city: "长沙市",
        district: "望城区",
        abbr: "长",
        court_code: "0112",
    },
    Area {
        code: "430202",
        province: "湖南省",
        city: "株洲市",
        district: "荷塘区",
        abbr: "株",
        court_code: "0202",
    },
    Area {
        code: "430302",
        province: "湖南省",
        city: "湘潭市",
        district: "雨湖区",
        abbr: "潭",
        court_code: "0302",
    },
    Area {
        code: "430405",
        province: "湖南省",
        city: "衡阳市",
        district: "珠晖区",
        abbr: "衡",
        court_code: "0405",
    },
    Area {
        code: "430502",
        province: "湖南省",
        city: "邵阳市",
        district: "双清区",
        abbr: "邵",
        court_code: "0502",
    },
    Area {
        code: "430602",
        province: "湖南省",
        city: "岳阳市",
        district: "岳阳楼区",
        abbr: "岳",
        court_code: "0602",
    },
    Area {
        code: "430702",
        province: "湖南省",
        city: "常德市",
        district: "武陵区",
        abbr: "常",
        court_code: "0702",
    },
    Area {
        code: "430802",
        province: "湖南省",
        city: "张家界市",
        district: "永定区",
        abbr: "张",
        court_code: "0802",
    },
    Area {
        code: "430902",
        province: "湖南省",
        city: "益阳市",
        district: "资阳区",
        abbr: "益",
        court_code: "0902",
    },
    Area {
        code: "431002",
        province: "湖南省",
        city: "郴州市",
        district: "北湖区",
        abbr: "郴",
        court_code: "1002",
    },
    Area {
        code: "431102",
        province: "湖南省",
        city: "永州市",
        district: "零陵区",
        abbr: "永",
        court_code: "1102",
    },
    Area {
        code: "431202",
        province: "湖南省",
        city: "怀化市",
        district: "鹤城区",
        abbr: "怀",
        court_code: "1202",
    },
    Area {
        code: "431302",
        province: "湖南省",
        city: "娄底市",
        district: "娄星区",
        abbr: "娄",
        court_code: "1302",
    },
    Area {
        code: "433101",
        province: "湖南省",
        city: "湘西土家族苗族自治州",
        district: "吉首市",
        abbr: "湘西",
        court_code: "3101",
    },
    Area {
        code: "360102",
        province: "江西省",
        city: "南昌市",
        district: "东湖区",
        abbr: "洪",
        court_code: "0102",
    },
    Area {
        code: "520102",
        province: "贵州省",
        city: "贵阳市",
        district: "南明区",
        abbr: "筑",
        court_code: "0102",
    },
    Area {
        code: "110105",
        province: "北京市",
        city: "北京市",
        district: "朝阳区",
        abbr: "京朝",
        court_code: "0105",
    },
];

/// Province abbreviation used in court case numbers.
pub(super) fn province_abbr(province: &str) -> &'static str {
    match province {
        "江西省" => "赣",
        "贵州省" => "黔",
        "北京市" => "京",
        _ => "湘",
    }
}

/// Telephone area code of a city (landlines are `CODE-NNNNNNNN`).
pub(super) fn phone_area_code(city: &str) -> &'static str {
    match city {
        "衡阳市" => "0734",
        "邵阳市" => "0739",
        "岳阳市" => "0730",
        "常德市" => "0736",
        "张家界市" => "0744",
        "益阳市" => "0737",
        "郴州市" => "0735",
        "永州市" => "0746",
        "怀化市" => "0745",
        "娄底市" => "0738",
        "湘西土家族苗族自治州" => "0743",
        "南昌市" => "0791",
        "贵阳市" => "0851",
        "北京市" => "010",
        // Changsha, Zhuzhou and Xiangtan share 0731.
        _ => "0731",
    }
}

/// Common surnames.
pub(super) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任",
    "沈", "姚", "卢", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贺", "向", "龙", "欧阳",
    "易",
];

/// Characters of given names.
pub(super) const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "红", "鹏", "辉", "建", "国",
    "志", "文", "斌", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "林", "欣", "怡", "佳", "雪",
    "梅", "琳", "晨", "阳", "婷", "倩", "晶", "颖", "慧", "丹", "蕾", "雯", "湘", "嘉", "子", "思",
];

/// Roads for street addresses.
pub(super) const ROADS: &[&str] = &[
    "五一大道",
    "芙蓉中路",
    "解放西路",
    "人民中路",
    "韶山北路",
    "劳动西路",
    "湘江中路",
    "岳麓大道",
    "麓山南路",
    "建设路",
    "中山路",
    "新华路",
    "桐梓坡路",
    "枫林三路",
    "万家丽中路",
    "车站北路",
    "东风路",
    "八一路",
    "雨花亭路",
    "高新大道",
    "迎宾路",
    "滨江路",
    "友谊路",
    "金星中路",
];

/// Trade names (字号) of companies.
pub(super) const TRADE_NAMES: &[&str] = &[
    "星辰", "湘江", "岳麓", "芙蓉", "橘洲", "华信", "恒达", "鑫源", "宏图", "楚天", "远景", "金霞",
    "天心", "麓谷", "潇湘", "南岳", "洞庭", "三湘", "九华", "博盛", "瑞丰", "中润", "鸿运", "永安",
    "诚信", "新宇", "盛世", "蓝天", "绿源", "惠民", "安达", "长盛",
];

/// Lines of business (行业) of companies, with a business scope.
pub(super) const INDUSTRIES: &[(&str, &str)] = &[
    ("建材", "建筑材料、装饰材料的销售"),
    ("科技", "软件开发；信息技术咨询服务"),
    ("食品", "预包装食品销售；农副产品收购"),
    ("物流", "普通货物道路运输；仓储服务"),
    ("医药", "药品零售；医疗器械经营"),
    ("商贸", "日用百货、五金交电的批发和零售"),
    ("建筑工程", "房屋建筑工程施工；市政公用工程施工"),
    ("餐饮管理", "餐饮服务；餐饮企业管理"),
    ("房地产开发", "房地产开发经营；物业管理"),
    ("电子商务", "互联网销售；电子商务平台运营"),
    ("农业开发", "蔬菜、水果种植；农业技术推广"),
    ("环保科技", "环境污染治理；固体废物处理"),
    ("机械制造", "通用设备制造；机械零部件加工"),
    ("文化传媒", "广告设计、制作、发布；会议及展览服务"),
    ("汽车销售", "汽车及零配件销售；汽车维修"),
    ("家政服务", "家政服务；保洁服务"),
];

/// Company form suffixes.
pub(super) const COMPANY_FORMS: &[&str] = &["有限公司", "有限公司", "有限责任公司", "股份有限公司"];

/// Administrative penalty: (deciding body suffix, violation, legal basis).
pub(super) const VIOLATIONS: &[(&str, &str, &str)] = &[
    (
        "市场监督管理局",
        "未按规定报送企业年度报告",
        "《企业信息公示暂行条例》第十条",
    ),
    (
        "市场监督管理局",
        "销售不合格产品",
        "《产品质量法》第四十九条",
    ),
    ("市场监督管理局", "虚假宣传", "《反不正当竞争法》第二十条"),
    (
        "市场监督管理局",
        "未取得食品经营许可从事食品经营活动",
        "《食品安全法》第一百二十二条",
    ),
    (
        "生态环境局",
        "超标排放大气污染物",
        "《大气污染防治法》第九十九条",
    ),
    ("生态环境局", "未批先建", "《环境影响评价法》第三十一条"),
    ("税务局", "未按期申报纳税", "《税收征收管理法》第六十二条"),
    (
        "应急管理局",
        "未落实安全生产教育培训",
        "《安全生产法》第九十七条",
    ),
    ("交通运输局", "超限运输", "《公路法》第七十六条"),
    (
        "人力资源和社会保障局",
        "拖欠劳动者工资",
        "《保障农民工工资支付条例》第五十四条",
    ),
];

/// Natural-person administrative penalties: (deciding body suffix, violation).
pub(super) const PERSONAL_VIOLATIONS: &[(&str, &str)] = &[
    ("公安局交通警察支队", "醉酒驾驶机动车"),
    ("公安局交通警察支队", "驾驶机动车超速50%以上"),
    ("税务局", "个人所得税未按期申报"),
    ("市场监督管理局", "无照经营"),
    ("城市管理和综合执法局", "违法建设"),
];

/// Court enforcement case status.
pub(super) const ENFORCEMENT_STATUS: &[&str] =
    &["执行中", "终结本次执行程序", "失信被执行人", "限制高消费"];

/// Commendations for legal persons: (title, awarded by suffix).
pub(super) const COMPANY_HONOURS: &[(&str, &str)] = &[
    ("守合同重信用企业", "市场监督管理局"),
    ("纳税信用A级纳税人", "税务局"),
    ("诚信示范企业", "发展和改革委员会"),
    ("安全生产标准化一级企业", "应急管理局"),
    ("劳动保障诚信示范单位", "人力资源和社会保障局"),
];

/// Commendations for natural persons: (title, awarded by suffix, kind).
pub(super) const PERSONAL_HONOURS: &[(&str, &str, &str)] = &[
    ("优秀志愿者", "精神文明建设委员会", "volunteer_service"),
    ("无偿献血奉献奖", "卫生健康委员会", "donation"),
    ("见义勇为先进个人", "见义勇为基金会", "commendation"),
    ("慈善捐赠表彰", "民政局", "donation"),
    ("劳动模范", "人民政府", "commendation"),
];

/// Religions (a prohibited field: the gateway must never release it).
pub(super) const RELIGIONS: &[&str] = &["无", "佛教", "道教", "基督教", "伊斯兰教", "天主教"];

/// Blood types (prohibited).
pub(super) const BLOOD_TYPES: &[&str] = &["A", "B", "AB", "O"];

/// Illnesses (prohibited).
pub(super) const ILLNESSES: &[&str] = &["高血压", "糖尿病", "哮喘", "慢性胃炎", "无"];

/// Medical histories (prohibited).
pub(super) const MEDICAL_HISTORIES: &[&str] = &[
    "2019年阑尾切除术",
    "慢性肾病随访中",
    "2021年骨折住院治疗",
    "无重大病史",
];

/// Employers' line of work for natural persons.
pub(super) const OCCUPATIONS: &[&str] = &[
    "教师",
    "工程师",
    "个体工商户",
    "会计",
    "医生",
    "销售经理",
    "公务员",
    "司机",
    "厨师",
    "自由职业",
];

/// Educational attainment.
pub(super) const EDUCATION: &[&str] = &["初中", "高中", "大专", "本科", "硕士研究生", "博士研究生"];

/// Professional qualifications (basic records of natural persons).
pub(super) const QUALIFICATIONS: &[(&str, &str)] = &[
    ("注册会计师", "中国注册会计师协会"),
    ("执业医师", "卫生健康委员会"),
    ("一级建造师", "住房和城乡建设厅"),
    ("法律职业资格", "司法部"),
    ("教师资格", "教育厅"),
];

/// Registration changes (basic records of legal persons).
pub(super) const REGISTRATION_CHANGES: &[&str] =
    &["注册资本变更", "法定代表人变更", "经营范围变更", "住所变更"];
